#include "rotate_letters.h"

namespace rotate_letters {

std::string rotate(const std::string& text, int shift) {
    std::string out = text;
    for (char& c : out) {
        char base;
        if (c >= 'a' && c <= 'z') base = 'a';
        else if (c >= 'A' && c <= 'Z') base = 'A';
        else continue;
        c = static_cast<char>(base + (((c - base + shift) % 26) + 26) % 26);
    }
    return out;
}

}  // namespace rotate_letters
