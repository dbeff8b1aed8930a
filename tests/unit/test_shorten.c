/* ----------------------------------------------------------------------------
 * test_shorten.c — C++ names shortened the way heaptrack does (shorten.c):
 *  - a real std::thread state frame (g++ 12 / libstdc++, demangled by nm -C
 *    from a program that starts std::thread(fill_heap, std::ref(v), 3u)),
 *    521 characters, becomes "std::thread::_State_impl<>::_M_run()";
 *  - an 897-character one (a std::map argument) becomes the same;
 *  - parameter lists stay, with the templates inside them collapsed;
 *  - operator<, <<, <<=, >, >>, ->, ->*, <=> and <= stay names (heaptrack
 *    keeps the first four; the rest are this file's divergence);
 *  - a C name, NULL and "" come back unchanged / empty;
 *  - the result is always terminated and never longer than the buffer, at
 *    every buffer size from 1 up, and a cut-short result keeps "<>" paired;
 *  - zt_report_frame_describe: short name + (file:line), module+offset
 *    without a function.
 * -------------------------------------------------------------------------- */
#include "../../profiler/cli/shorten.c"

#include "../check.h"

/* nm -C of g++ 12's std::thread(fill_heap, std::ref(v), 3u), fill_heap
 * taking (std::vector<std::string>&, unsigned). */
static const char thread_521[] =
    "std::thread::_State_impl<std::thread::_Invoker<std::tuple<void (*)(std::vector<std::__cxx11::"
    "basic_string<char, std::char_traits<char>, std::allocator<char> >, std::allocator<std::__"
    "cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > > >&, unsigned int), "
    "std::reference_wrapper<std::vector<std::__cxx11::basic_string<char, std::char_traits<char>, "
    "std::allocator<char> >, std::allocator<std::__cxx11::basic_string<char, "
    "std::char_traits<char>, std::allocator<char> > > > >, unsigned int> > >::_M_run()";

/* The same with fill_heap taking (std::map<std::string, std::vector<int>>&,
 * unsigned). */
static const char thread_897[] =
    "std::thread::_State_impl<std::thread::_Invoker<std::tuple<void (*)(std::map<std::__cxx11::"
    "basic_string<char, std::char_traits<char>, std::allocator<char> >, std::vector<int, "
    "std::allocator<int> >, std::less<std::__cxx11::basic_string<char, std::char_traits<char>, "
    "std::allocator<char> > >, std::allocator<std::pair<std::__cxx11::basic_string<char, "
    "std::char_traits<char>, std::allocator<char> > const, std::vector<int, std::allocator<int> > "
    "> > >&, unsigned int), std::reference_wrapper<std::map<std::__cxx11::basic_string<char, "
    "std::char_traits<char>, std::allocator<char> >, std::vector<int, std::allocator<int> >, "
    "std::less<std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > >, "
    "std::allocator<std::pair<std::__cxx11::basic_string<char, std::char_traits<char>, "
    "std::allocator<char> > const, std::vector<int, std::allocator<int> > > > > >, unsigned int> "
    "> >::_M_run()";

static bool balanced(const char *s)
{
    int d = 0;
    for (; *s; s++) {
        d += *s == '<';
        d -= *s == '>';
        if (d < 0 || d > 1) return false;
    }
    return d == 0;
}

int main(void)
{
    char out[2048];

    CHECK_CASE("std::thread state frames")
    {
        CHECK(strlen(thread_521) == 521, "the 521-char frame is %zu chars", strlen(thread_521));
        CHECK(strlen(thread_897) == 897, "the 897-char frame is %zu chars", strlen(thread_897));
        size_t n = zt_shorten_name(thread_521, out, sizeof out);
        CHECK(strcmp(out, "std::thread::_State_impl<>::_M_run()") == 0, "521 -> %s", out);
        CHECK(n == strlen(out), "returned %zu for %zu chars", n, strlen(out));
        zt_shorten_name(thread_897, out, sizeof out);
        CHECK(strcmp(out, "std::thread::_State_impl<>::_M_run()") == 0, "897 -> %s", out);
    }

    CHECK_CASE("parameter lists stay, their templates collapse")
    {
        static const struct {
            const char *in, *want;
        } cases[] = {
            {"fill(std::vector<int, std::allocator<int> >&, unsigned int)",
             "fill(std::vector<>&, unsigned int)"},
            {"std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(__gnu_cxx::__"
             "normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)",
             "std::vector<>::_M_realloc_insert<>(__gnu_cxx::__normal_iterator<>, int const&)"},
            {"void std::__cxx11::list<Foo, std::allocator<Foo> >::_M_insert<Foo const&>"
             "(std::_List_iterator<Foo>, Foo const&)",
             "void std::__cxx11::list<>::_M_insert<>(std::_List_iterator<>, Foo const&)"},
            {"(anonymous namespace)::Cache<int>::grow()", "(anonymous namespace)::Cache<>::grow()"},
            {"main::{lambda(int)#1}::operator()(int) const",
             "main::{lambda(int)#1}::operator()(int) const"},
        };
        for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            zt_shorten_name(cases[i].in, out, sizeof out);
            CHECK(strcmp(out, cases[i].want) == 0, "%s -> %s (want %s)", cases[i].in, out,
                  cases[i].want);
        }
    }

    CHECK_CASE("operators are names")
    {
        static const struct {
            const char *in, *want;
        } cases[] = {
            {"operator<(Foo const&, Foo const&)", "operator<(Foo const&, Foo const&)"},
            {"std::ostream& operator<<(std::ostream&, Foo const&)",
             "std::ostream& operator<<(std::ostream&, Foo const&)"},
            {"std::basic_ostream<char, std::char_traits<char> >& std::operator<< "
             "<std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, char "
             "const*)",
             "std::basic_ostream<>& std::operator<< <>(std::basic_ostream<>&, char const*)"},
            {"Big::operator<<=(int)", "Big::operator<<=(int)"},
            {"Foo::operator>(Foo const&) const", "Foo::operator>(Foo const&) const"},
            {"operator>>(std::istream&, Foo&)", "operator>>(std::istream&, Foo&)"},
            {"std::unique_ptr<Foo, std::default_delete<Foo> >::operator->() const",
             "std::unique_ptr<>::operator->() const"},
            {"Ptr<int>::operator->*(int Foo::*)", "Ptr<>::operator->*(int Foo::*)"},
            {"operator<=>(Foo const&, Foo const&)", "operator<=>(Foo const&, Foo const&)"},
            {"Foo::operator<=(Foo const&) const", "Foo::operator<=(Foo const&) const"},
            {"my_operator<int>(int)", "my_operator<>(int)"},
        };
        for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            zt_shorten_name(cases[i].in, out, sizeof out);
            CHECK(strcmp(out, cases[i].want) == 0, "%s -> %s (want %s)", cases[i].in, out,
                  cases[i].want);
        }
    }

    CHECK_CASE("C names, NULL, empty, stray brackets")
    {
        zt_shorten_name("site_small_4k", out, sizeof out);
        CHECK(strcmp(out, "site_small_4k") == 0, "C name -> %s", out);
        CHECK(zt_shorten_name(NULL, out, sizeof out) == 0 && out[0] == 0, "NULL -> '%s'", out);
        CHECK(zt_shorten_name("", out, sizeof out) == 0 && out[0] == 0, "empty -> '%s'", out);
        zt_shorten_name("a>b", out, sizeof out);
        CHECK(strcmp(out, "a>b") == 0, "a stray '>' is kept as text: %s", out);
        zt_shorten_name("cut<short<at the end", out, sizeof out);
        CHECK(strcmp(out, "cut<>") == 0, "an unclosed '<' still reads as collapsed: %s", out);
    }

    CHECK_CASE("bounded at every buffer size")
    {
        /* A sentinel after the buffer catches any write past cap. */
        char buf[64 + 8];
        for (size_t cap = 1; cap <= 64; cap++) {
            memset(buf, 'Z', sizeof buf);
            size_t n = zt_shorten_name(thread_897, buf, cap);
            CHECK(n < cap && buf[n] == 0, "cap %zu: length %zu not terminated in bounds", cap, n);
            CHECK(buf[cap] == 'Z', "cap %zu: wrote past the buffer", cap);
            CHECK(balanced(buf), "cap %zu: '<>' not paired in '%s'", cap, buf);
            CHECK(strncmp(buf, "std::thread::_State_impl<>::_M_run()", n) == 0,
                  "cap %zu: '%s' is not a prefix of the full result", cap, buf);
        }
        CHECK(zt_shorten_name("x", buf, 0) == 0, "cap 0 writes nothing");
    }

    CHECK_CASE("frame descriptions")
    {
        zt_sym_frame_t f = {.pc = 0x1234,
                            .module = "prog",
                            .offset = 0x234,
                            .function = "Cache<int, Foo>::grow(std::vector<int>&)",
                            .file = "/src/dir/cache.cc",
                            .line = 42};
        char b[256];
        zt_report_frame_describe(&f, b, sizeof b);
        CHECK(strcmp(b, "Cache<>::grow(std::vector<>&) (cache.cc:42)") == 0, "describe: %s", b);
        zt_report_frame_short(&f, b, sizeof b);
        CHECK(strcmp(b, "Cache<>::grow(std::vector<>&)") == 0, "short: %s", b);
        f.file = NULL;
        f.inlined = true;
        zt_report_frame_describe(&f, b, sizeof b);
        CHECK(strcmp(b, "Cache<>::grow(std::vector<>&) (prog) [inlined]") == 0, "no file: %s", b);
        f.function = NULL;
        zt_report_frame_describe(&f, b, sizeof b);
        CHECK(strcmp(b, "prog+0x234") == 0, "no function: %s", b);
        zt_report_frame_describe(&(zt_sym_frame_t){.function = thread_897, .module = "p"}, b, 20);
        CHECK(strlen(b) < 20, "a small buffer is respected: %zu", strlen(b));
    }

    return CHECK_DONE("test_shorten");
}
