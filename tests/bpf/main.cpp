// The BPF tests: tables of frames through both XDP programs
// (BPF_PROG_TEST_RUN), and the layout of what they share with C++.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
