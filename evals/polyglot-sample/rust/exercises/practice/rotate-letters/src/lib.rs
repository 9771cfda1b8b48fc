pub fn rotate(text: &str, shift: i32) -> String {
    todo!("rotate {text:?} by {shift}")
}
