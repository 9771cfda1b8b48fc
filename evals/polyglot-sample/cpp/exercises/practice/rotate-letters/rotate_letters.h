#pragma once

#include <string>

namespace rotate_letters {

std::string rotate(const std::string& text, int shift);

}  // namespace rotate_letters
