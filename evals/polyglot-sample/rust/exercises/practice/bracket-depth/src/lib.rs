pub fn max_depth(text: &str) -> i32 {
    todo!("how deep do the brackets of {text:?} nest?")
}
