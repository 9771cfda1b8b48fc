#include "bracket_depth.h"

namespace bracket_depth {

int max_depth(const std::string& text) { return 0; }

}  // namespace bracket_depth
