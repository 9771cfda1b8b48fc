use rotate_letters::rotate;

#[test]
fn shift_by_one() {
    assert_eq!(rotate("abc", 1), "bcd");
}

#[test]
#[ignore]
fn wraps_around() {
    assert_eq!(rotate("xyz", 3), "abc");
}

#[test]
#[ignore]
fn shift_by_zero() {
    assert_eq!(rotate("abc", 0), "abc");
}

#[test]
#[ignore]
fn lower_case_phrase() {
    assert_eq!(rotate("hello world", 13), "uryyb jbeyq");
}

#[test]
#[ignore]
fn keeps_case_and_punctuation() {
    assert_eq!(rotate("Hello, World!", 13), "Uryyb, Jbeyq!");
}

#[test]
#[ignore]
fn negative_shift() {
    assert_eq!(rotate("abc", -1), "zab");
}

#[test]
#[ignore]
fn shift_larger_than_the_alphabet() {
    assert_eq!(rotate("Zebra 42", 27), "Afcsb 42");
}
