pub fn max_depth(text: &str) -> i32 {
    let mut stack = Vec::new();
    let mut deepest = 0;
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => {
                stack.push(c);
                deepest = deepest.max(stack.len() as i32);
            }
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return -1;
                }
            }
            _ => {}
        }
    }
    if stack.is_empty() {
        deepest
    } else {
        -1
    }
}
