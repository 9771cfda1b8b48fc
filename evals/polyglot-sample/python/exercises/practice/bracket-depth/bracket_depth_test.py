import unittest

from bracket_depth import max_depth


class BracketDepthTest(unittest.TestCase):
    def test_empty_text(self):
        self.assertEqual(max_depth(""), 0)

    def test_no_brackets(self):
        self.assertEqual(max_depth("abc"), 0)

    def test_one_pair(self):
        self.assertEqual(max_depth("(a)"), 1)

    def test_mixed_kinds(self):
        self.assertEqual(max_depth("([]{})"), 2)

    def test_three_levels(self):
        self.assertEqual(max_depth("((x)[{y}])"), 3)

    def test_wrong_closing_kind(self):
        self.assertEqual(max_depth("(]"), -1)

    def test_left_open(self):
        self.assertEqual(max_depth("(("), -1)

    def test_closed_before_opened(self):
        self.assertEqual(max_depth(")("), -1)
