use bracket_depth::max_depth;

#[test]
fn empty_text() {
    assert_eq!(max_depth(""), 0);
}

#[test]
#[ignore]
fn no_brackets() {
    assert_eq!(max_depth("abc"), 0);
}

#[test]
#[ignore]
fn one_pair() {
    assert_eq!(max_depth("(a)"), 1);
}

#[test]
#[ignore]
fn mixed_kinds() {
    assert_eq!(max_depth("([]{})"), 2);
}

#[test]
#[ignore]
fn three_levels() {
    assert_eq!(max_depth("((x)[{y}])"), 3);
}

#[test]
#[ignore]
fn wrong_closing_kind() {
    assert_eq!(max_depth("(]"), -1);
}

#[test]
#[ignore]
fn left_open() {
    assert_eq!(max_depth("(("), -1);
}

#[test]
#[ignore]
fn closed_before_opened() {
    assert_eq!(max_depth(")("), -1);
}
