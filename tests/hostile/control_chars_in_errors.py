# expect: conv_shapes=error intermediate_size=passed
# expect-message: conv_shapes~"\x1b]52;c;" conv_shapes~"\u202e" conv_shapes~"\x1b[31m"
# backends: bwrap process
"""Prints terminal escape sequences (an OSC 52 clipboard write, ANSI colours, a cursor move, a
carriage return) and Unicode bidi controls, then raises an exception whose class name and
message carry them too. Its constant is right. The grader must show them escaped (`\\x1b`,
`\\u202e`), never raw: a TA's terminal would run them."""
import sys

NASTY = ("\x1b]52;c;cm0gLXJmIH4K\x07" "\x1b[31mRED\x1b[0m" "\x1b[2J\x1b[H" "\rscore 21 of 21\n"
         "\u202eevil\u202c \u2066iso\u2069 \u200e\u200f\u061c \x9b31m \x85 \u2028")
print(NASTY)
print(NASTY, file=sys.stderr)
INTERMEDIATE_SIZE = 512
Nasty = type("Evil\x1b[5mBlink\u202e", (Exception,), {})


def conv_parameter_shapes(in_channels, out_channels, kernel_size):
    print(NASTY)
    raise Nasty(NASTY * 3)
