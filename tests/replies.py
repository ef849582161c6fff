# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the local server's replies look like, for the tests that run the
examples (examples.py, first_steps.py)."""
import math


def answers(heard, said):
    """Whether the local server's default reply said (perhaps cut short)
    answers a turn transcribed as heard: it quotes the words the server
    recognised in it, and with none (a beep mostly has none), the transcript
    and the reply say how long it was."""
    if heard.endswith(" seconds of speech)"):
        return said.startswith("Hello from the local realtime server.")
    return said.startswith("You asked:") and ("You asked: %s." % heard).startswith(said)


def audible_seconds(pcm):
    """Seconds of S16LE 48 kHz mono in 10 ms blocks above 0.02 of full scale."""
    block, audible = 960, 0
    for at in range(0, len(pcm) - block + 1, block):
        samples = memoryview(pcm[at:at + block]).cast("h")
        if math.sqrt(sum(v * v for v in samples) / len(samples)) / 32768 > 0.02:
            audible += 1
    return audible / 100.0
