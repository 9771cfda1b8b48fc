import java.util.ArrayDeque;
import java.util.Deque;

class BracketDepth {

    int maxDepth(String text) {
        Deque<Character> stack = new ArrayDeque<>();
        int deepest = 0;
        for (char c : text.toCharArray()) {
            if (c == '(' || c == '[' || c == '{') {
                stack.push(c);
                deepest = Math.max(deepest, stack.size());
            } else if (c == ')' || c == ']' || c == '}') {
                char open = c == ')' ? '(' : c == ']' ? '[' : '{';
                if (stack.isEmpty() || stack.pop() != open) {
                    return -1;
                }
            }
        }
        return stack.isEmpty() ? deepest : -1;
    }

}
