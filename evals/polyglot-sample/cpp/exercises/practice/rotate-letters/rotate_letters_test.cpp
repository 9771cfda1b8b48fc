#include "rotate_letters.h"
#include "test/check.hpp"

TEST_CASE("shift by one") {
    REQUIRE(rotate_letters::rotate("abc", 1) == "bcd");
}

TEST_CASE("wraps around") {
    REQUIRE(rotate_letters::rotate("xyz", 3) == "abc");
}

TEST_CASE("shift by zero") {
    REQUIRE(rotate_letters::rotate("abc", 0) == "abc");
}

TEST_CASE("lower case phrase") {
    REQUIRE(rotate_letters::rotate("hello world", 13) == "uryyb jbeyq");
}

TEST_CASE("keeps case and punctuation") {
    REQUIRE(rotate_letters::rotate("Hello, World!", 13) == "Uryyb, Jbeyq!");
}

TEST_CASE("negative shift") {
    REQUIRE(rotate_letters::rotate("abc", -1) == "zab");
}

TEST_CASE("shift larger than the alphabet") {
    REQUIRE(rotate_letters::rotate("Zebra 42", 27) == "Afcsb 42");
}
