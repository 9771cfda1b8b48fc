// A small test framework written for this project's sample exercises (not Catch2). It
// understands what the grader asks of a C++ test binary: TEST_CASE("name") { REQUIRE(...); }
// and the command line `-r junit -o FILE`, which writes a JUnit XML report to FILE.
#pragma once

#include <cstring>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace dgmcheck {

struct Failure {
    std::string what;
};

struct Case {
    const char* name;
    void (*run)();
};

inline std::vector<Case>& cases() {
    static std::vector<Case> all;
    return all;
}

struct Register {
    Register(const char* name, void (*run)()) { cases().push_back({name, run}); }
};

inline std::string xml(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

inline int run_all(int argc, char** argv) {
    const char* report = nullptr;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "-o") == 0) report = argv[i + 1];
    std::vector<std::string> failures(cases().size());
    int failed = 0;
    for (std::size_t i = 0; i < cases().size(); ++i) {
        try {
            cases()[i].run();
        } catch (const Failure& f) {
            failures[i] = f.what;
        } catch (const std::exception& e) {
            failures[i] = std::string("exception: ") + e.what();
        } catch (...) {
            failures[i] = "unknown exception";
        }
        failed += !failures[i].empty();
        std::cout << (failures[i].empty() ? "ok     " : "FAILED ") << cases()[i].name << '\n';
    }
    if (report) {
        std::ofstream out(report);
        out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites><testsuite name=\"dgmcheck\" tests=\""
            << cases().size() << "\" failures=\"" << failed << "\">\n";
        for (std::size_t i = 0; i < cases().size(); ++i) {
            out << "<testcase classname=\"dgmcheck\" name=\"" << xml(cases()[i].name) << "\"";
            if (failures[i].empty())
                out << "/>\n";
            else
                out << "><failure message=\"" << xml(failures[i]) << "\"/></testcase>\n";
        }
        out << "</testsuite></testsuites>\n";
    }
    std::cout << cases().size() - failed << " passed, " << failed << " failed\n";
    return failed ? 1 : 0;
}

}  // namespace dgmcheck

#define DGMCHECK_CAT2(a, b) a##b
#define DGMCHECK_CAT(a, b) DGMCHECK_CAT2(a, b)
#define TEST_CASE(name)                                                                   \
    static void DGMCHECK_CAT(dgmcheck_case_, __LINE__)();                                 \
    static dgmcheck::Register DGMCHECK_CAT(dgmcheck_reg_, __LINE__)(name, &DGMCHECK_CAT(dgmcheck_case_, __LINE__)); \
    static void DGMCHECK_CAT(dgmcheck_case_, __LINE__)()
#define REQUIRE(expr)                                                       \
    do {                                                                    \
        if (!(expr)) throw dgmcheck::Failure{"REQUIRE(" #expr ") failed"}; \
    } while (0)

#ifdef DGMCHECK_MAIN
int main(int argc, char** argv) { return dgmcheck::run_all(argc, argv); }
#endif
