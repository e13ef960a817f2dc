// xdpsecd --config FILE [--foreground]
#include "control/config.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

void usage(std::FILE* to) {
    std::fputs("usage: xdpsecd --config FILE [--foreground]\n"
               "  --config FILE   INI configuration ([daemon], [tunnel.NAME], [sa.NAME])\n"
               "  --foreground    stay attached and log to stderr (default: daemonize, syslog)\n",
               to);
}

// Forks; the parent waits until the child reports setup done (or why it
// failed) on a pipe, so `xdpsecd` exits non-zero when the daemon cannot start.
int daemonize(int* ready_fd) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid > 0) {
        ::close(p[1]);
        char buf[512];
        const ssize_t n = ::read(p[0], buf, sizeof buf - 1);
        if (n <= 0) {
            std::fputs("xdpsecd: the daemon exited during start-up (see syslog)\n", stderr);
            ::_exit(1);
        }
        buf[n] = 0;
        if (std::strcmp(buf, "ok") == 0) ::_exit(0);
        std::fprintf(stderr, "xdpsecd: %s\n", buf);
        ::_exit(1);
    }
    ::close(p[0]);
    ::setsid();
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        if (null > 2) ::close(null);
    }
    *ready_fd = p[1];
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_path;
    bool foreground = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            config_path = a.substr(9);
        } else if (a == "--foreground") {
            foreground = true;
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "xdpsecd: unknown argument '%s'\n", a.c_str());
            usage(stderr);
            return 2;
        }
    }
    if (config_path.empty()) {
        std::fputs("xdpsecd: --config FILE is required\n", stderr);
        usage(stderr);
        return 2;
    }
    auto config = xdpsec::control::load_config(config_path);
    if (!config) {
        std::fputs(xdpsec::control::format_errors(config.error()).c_str(), stderr);
        return 1;
    }

    int ready_fd = -1;
    if (!foreground) {
        if (daemonize(&ready_fd) != 0) {
            std::perror("xdpsecd: fork");
            return 1;
        }
        xdpsec::daemon::log_to_syslog(true);
    }
    auto report = [&](const std::string& what) {
        if (ready_fd >= 0) {
            (void)!::write(ready_fd, what.data(), what.size());
            ::close(ready_fd);
            ready_fd = -1;
        }
    };

    // BPF maps, programs and UMEMs count against RLIMIT_MEMLOCK on kernels
    // without memcg accounting for BPF, and so does mlockall below.
    const rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_MEMLOCK, &unlimited) != 0)
        xdpsec::daemon::log_warning(std::string("raising RLIMIT_MEMLOCK: ") + std::strerror(errno));

    // Keys must never reach swap (DESIGN: keys stay in locked memory).
    if (::mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
        xdpsec::daemon::log_warning(std::string("mlockall: ") + std::strerror(errno) +
                                    ": key material may be swapped");

    // Block the stop signals before any thread exists; the main loop reads them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    const int sfd = ::signalfd(-1, &stop, SFD_CLOEXEC);
    if (sfd < 0) {
        report(std::string("signalfd: ") + std::strerror(errno));
        return 1;
    }

    int rc = 1;
    {
        xdpsec::daemon::Daemon daemon(std::move(config.value()));
        std::string error;
        if (!daemon.setup(&error)) {
            xdpsec::daemon::log_error(error);
            report(error);
        } else {
            report("ok");
            rc = daemon.run(sfd);
        }
    }
    xdpsec::daemon::log_info(rc == 0 ? "stopped; devices, programs and pins removed" : "exiting");
    return rc;
}
