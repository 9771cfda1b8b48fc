#include "bracket_depth.h"
#include "test/check.hpp"

TEST_CASE("empty text") {
    REQUIRE(bracket_depth::max_depth("") == 0);
}

TEST_CASE("no brackets") {
    REQUIRE(bracket_depth::max_depth("abc") == 0);
}

TEST_CASE("one pair") {
    REQUIRE(bracket_depth::max_depth("(a)") == 1);
}

TEST_CASE("mixed kinds") {
    REQUIRE(bracket_depth::max_depth("([]{})") == 2);
}

TEST_CASE("three levels") {
    REQUIRE(bracket_depth::max_depth("((x)[{y}])") == 3);
}

TEST_CASE("wrong closing kind") {
    REQUIRE(bracket_depth::max_depth("(]") == -1);
}

TEST_CASE("left open") {
    REQUIRE(bracket_depth::max_depth("((") == -1);
}

TEST_CASE("closed before opened") {
    REQUIRE(bracket_depth::max_depth(")(") == -1);
}
