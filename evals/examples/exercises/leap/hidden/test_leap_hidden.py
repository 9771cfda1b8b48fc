import unittest

from leap import is_leap


class Hidden(unittest.TestCase):
    def test_centuries(self):
        self.assertIs(is_leap(1900), False)
        self.assertIs(is_leap(2000), True)
        self.assertIs(is_leap(2400), True)
        self.assertIs(is_leap(2100), False)
