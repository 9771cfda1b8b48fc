#include "bracket_depth.h"

#include <vector>

namespace bracket_depth {

int max_depth(const std::string& text) {
    std::vector<char> stack;
    int deepest = 0;
    for (char c : text) {
        if (c == '(' || c == '[' || c == '{') {
            stack.push_back(c);
            if (static_cast<int>(stack.size()) > deepest) deepest = static_cast<int>(stack.size());
        } else if (c == ')' || c == ']' || c == '}') {
            char open = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (stack.empty() || stack.back() != open) return -1;
            stack.pop_back();
        }
    }
    return stack.empty() ? deepest : -1;
}

}  // namespace bracket_depth
