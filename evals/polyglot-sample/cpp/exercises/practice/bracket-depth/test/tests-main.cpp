#define DGMCHECK_MAIN
#include "test/check.hpp"
