pub fn rotate(text: &str, shift: i32) -> String {
    text.chars()
        .map(|c| {
            let base = if c.is_ascii_lowercase() {
                b'a'
            } else if c.is_ascii_uppercase() {
                b'A'
            } else {
                return c;
            };
            (base + ((c as u8 - base) as i32 + shift).rem_euclid(26) as u8) as char
        })
        .collect()
}
