#include "dataplane/xdp_loader.h"

#include "ingress.skel.h"
#include "protect.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <set>

namespace xdpsec::dataplane {

namespace {

bool is_bpffs(const std::string& path) {
    struct statfs st {};
    return ::statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

Status mkdir_p(const std::string& path) {
    for (std::size_t i = 1; i <= path.size(); ++i) {
        if (i != path.size() && path[i] != '/') continue;
        const std::string part = path.substr(0, i);
        if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
            return Status::error(errno_text("mkdir " + part, errno));
    }
    return {};
}

constexpr std::size_t kSaTableBytes = sizeof(xdpsec_sa) * XDPSEC_MAX_SAS;

std::size_t page_round(std::size_t n) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return (n + page - 1) / page * page;
}

// The libxdp handle of the program `name` of an opened, not yet loaded object.
xdp_program* program_of(bpf_object* obj, const char* name, std::string* error) {
    xdp_program_opts opts{};
    opts.sz = sizeof opts;
    opts.obj = obj;
    opts.prog_name = name;
    xdp_program* prog = xdp_program__create(&opts);
    if (libxdp_get_error(prog)) {
        *error = std::string("libxdp refused the ") + name + " program";
        return nullptr;
    }
    return prog;
}

}  // namespace

Status ensure_bpffs(const std::string& dir, std::string* note) {
    if (is_bpffs(dir)) return {};
    static const std::string kDefault = "/sys/fs/bpf";
    const std::string mountpoint =
        dir.rfind(kDefault + "/", 0) == 0 ? kDefault : dir;  // below /sys/fs/bpf: mount that
    if (!is_bpffs(mountpoint)) {
        if (auto s = mkdir_p(mountpoint); !s) return s;
        if (::mount("bpf", mountpoint.c_str(), "bpf", 0, "mode=0700") != 0)
            return Status::error(errno_text("mounting bpffs on " + mountpoint, errno));
        if (note) *note = "mounted bpffs on " + mountpoint;
    }
    return mkdir_p(dir);
}

Status XdpPrograms::attach_one(xdp_program* prog, int ifindex, XdpMode mode, const char* what,
                               int* attached_mode) {
    auto try_mode = [&](xdp_attach_mode m) { return xdp_program__attach(prog, ifindex, m, 0); };
    int err = 0;
    if (mode != XdpMode::generic) {
        err = try_mode(XDP_MODE_NATIVE);
        if (!err) {
            *attached_mode = XDP_MODE_NATIVE;
            mode_ = "native";
            return {};
        }
        if (mode == XdpMode::native)
            return Status::error(errno_text(std::string("attaching ") + what + " in native mode", err));
        notes_.push_back(std::string(what) + ": native XDP refused (" +
                         errno_text("", err).substr(2) + "), using generic mode");
    }
    err = try_mode(XDP_MODE_SKB);
    if (err) return Status::error(errno_text(std::string("attaching ") + what, err));
    *attached_mode = XDP_MODE_SKB;
    mode_ = "generic";
    return {};
}

std::unique_ptr<XdpPrograms> XdpPrograms::attach(const LoaderOptions& o, std::string* error) {
    auto fail = [&](const std::string& why) -> std::unique_ptr<XdpPrograms> {
        if (error) *error = why;
        return nullptr;
    };
    std::unique_ptr<XdpPrograms> p(new XdpPrograms());
    p->uplink_ifindex_ = o.uplink_ifindex;
    p->tunnel_ifindex_ = o.tunnel_ifindex;
    p->pin_dir_ = o.pin_dir;

    std::string note;
    if (auto s = ensure_bpffs(o.pin_dir, &note); !s) return fail(s.message());
    if (!note.empty()) p->notes_.push_back(note);

    p->ingress_ = ingress__open();
    p->protect_ = protect__open();
    if (!p->ingress_ || !p->protect_) return fail(errno_text("opening the BPF objects", errno));

    std::string err;
    p->ingress_prog_ = program_of(p->ingress_->obj, "ingress", &err);
    if (!p->ingress_prog_) return fail(err);
    if (auto s = p->attach_one(p->ingress_prog_, o.uplink_ifindex, o.mode, "ingress", &p->ingress_mode_); !s)
        return fail(s.message());
    p->ingress_attached_ = true;

    // The verdict counters and the SA table are one map shared by both programs.
    bpf_map* m = nullptr;
    bpf_object__for_each_map(m, p->protect_->obj) {
        if (bpf_map* twin = bpf_object__find_map_by_name(p->ingress_->obj, bpf_map__name(m))) {
            if (int e = bpf_map__reuse_fd(m, bpf_map__fd(twin)); e)
                return fail(errno_text(std::string("sharing map ") + bpf_map__name(m), e));
        }
    }
    p->protect_prog_ = program_of(p->protect_->obj, "protect", &err);
    if (!p->protect_prog_) return fail(err);
    const std::string uplink_mode = p->mode_;
    if (auto s = p->attach_one(p->protect_prog_, o.tunnel_ifindex, o.mode, "protect", &p->protect_mode_); !s)
        return fail(s.message());
    p->protect_attached_ = true;
    if (uplink_mode != p->mode_) p->mode_ = "ingress " + uplink_mode + ", protect " + p->mode_;

    std::set<std::string> done;
    for (bpf_object* obj : {p->ingress_->obj, p->protect_->obj}) {
        bpf_object__for_each_map(m, obj) {
            const std::string name = bpf_map__name(m);
            if (name.empty() || name[0] == '.' || !done.insert(name).second) continue;
            const std::string path = o.pin_dir + "/" + name;
            ::unlink(path.c_str());  // a stale pin of a previous run of this instance
            if (int e = bpf_map__pin(m, path.c_str()); e)
                return fail(errno_text("pinning " + path, e));
            p->pinned_.push_back(path);
        }
    }

    void* table = ::mmap(nullptr, page_round(kSaTableBytes), PROT_READ | PROT_WRITE, MAP_SHARED,
                         p->map_fd(XDPSEC_MAP_SA_NAME), 0);
    if (table == MAP_FAILED) return fail(errno_text("mapping the SA table", errno));
    p->sa_table_ = static_cast<xdpsec_sa*>(table);
    return p;
}

XdpPrograms::~XdpPrograms() {
    if (sa_table_) ::munmap(sa_table_, page_round(kSaTableBytes));
    if (protect_attached_)
        xdp_program__detach(protect_prog_, tunnel_ifindex_, static_cast<xdp_attach_mode>(protect_mode_), 0);
    if (ingress_attached_)
        xdp_program__detach(ingress_prog_, uplink_ifindex_, static_cast<xdp_attach_mode>(ingress_mode_), 0);
    if (protect_prog_) xdp_program__close(protect_prog_);
    if (ingress_prog_) xdp_program__close(ingress_prog_);
    for (const auto& path : pinned_) ::unlink(path.c_str());
    if (!pinned_.empty()) {
        ::rmdir(pin_dir_.c_str());
        const auto slash = pin_dir_.rfind('/');
        if (slash != std::string::npos && slash > 0) ::rmdir(pin_dir_.substr(0, slash).c_str());
    }
    // xdp_program__close does not own the objects it was created from.
    if (protect_) protect__destroy(protect_);
    if (ingress_) ingress__destroy(ingress_);
}

int XdpPrograms::map_fd(const char* name) const {
    for (bpf_object* obj : {ingress_->obj, protect_->obj}) {
        if (bpf_map* m = bpf_object__find_map_by_name(obj, name)) return bpf_map__fd(m);
    }
    return -1;
}

}  // namespace xdpsec::dataplane
