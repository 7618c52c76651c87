"""A torchrun that outlives its timeout (or a Ctrl-C) is sent SIGTERM, which it passes on
to its ranks; the SIGKILL sent before ended torchrun alone and left the ranks training."""

import subprocess
import sys
import textwrap

from nlpfactory.train.distributed import _stop


def test_torchrun_is_asked_to_stop_its_ranks_before_it_is_killed(tmp_path):
    marker = tmp_path / "passed-on"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import signal, sys, time
        def stop(*_):
            open({str(marker)!r}, "w").write("stopping my ranks")
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        print("ready", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    _stop(child)
    assert marker.read_text() == "stopping my ranks" and child.returncode == 0


def test_a_torchrun_deaf_to_sigterm_is_killed_after_the_grace(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                              "print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    _stop(child, grace=0.5)
    assert child.returncode == -9
