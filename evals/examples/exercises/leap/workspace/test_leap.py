import unittest

from leap import is_leap


class Examples(unittest.TestCase):
    def test_examples(self):
        self.assertTrue(is_leap(1996))
        self.assertFalse(is_leap(1997))
