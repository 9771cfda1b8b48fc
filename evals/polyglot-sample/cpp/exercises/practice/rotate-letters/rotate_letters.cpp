#include "rotate_letters.h"

namespace rotate_letters {

std::string rotate(const std::string& text, int shift) { return ""; }

}  // namespace rotate_letters
