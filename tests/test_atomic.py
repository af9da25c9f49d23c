"""Atomic writes: all or nothing, no temporary files left, ordinary permissions."""

import os
import stat

import pytest

from mnist_gui.atomic import atomic_open, atomic_write


def test_write_replaces_whole_file(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write(target, lambda fh: fh.write(b"one"))
    atomic_write(target, lambda fh: fh.write(b"two"))
    assert target.read_bytes() == b"two" and os.listdir(tmp_path) == ["f.bin"]


def test_failure_inside_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]


def test_new_file_gets_umask_permissions_not_private_ones(tmp_path):
    old = os.umask(0o022)
    os.umask(old)
    target = tmp_path / "new.bin"
    atomic_write(target, lambda fh: fh.write(b"x"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~old


def test_replacing_keeps_the_files_permissions(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write(target, lambda fh: fh.write(b"new"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_old_leftovers_of_killed_writers_are_removed_young_ones_kept(tmp_path):
    target = tmp_path / "m.npz"
    old = tmp_path / ".m.npz.abc123.tmp"        # what a SIGKILLed save leaves behind
    young = tmp_path / ".m.npz.def456.tmp"      # maybe another process saving right now
    other = tmp_path / ".other.npz.xyz.tmp"     # another file's: not ours to touch
    for p in (old, young, other):
        p.write_bytes(b"partial")
    two_hours_ago = os.path.getmtime(old) - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    os.utime(other, (two_hours_ago, two_hours_ago))
    atomic_write(target, lambda fh: fh.write(b"new"))
    assert not old.exists() and young.exists() and other.exists()
    assert target.read_bytes() == b"new"


def test_importing_and_writing_leave_the_umask_alone(tmp_path):
    # atomic.py used to read the umask by setting it at import time (process-wide, racy with threads).
    import subprocess
    import sys

    code = ("import os, stat, sys\n"
            "os.umask(0o077)\n"
            "from mnist_gui.atomic import atomic_write\n"
            "atomic_write(sys.argv[1], lambda fh: fh.write(b'x'))\n"
            "mask = os.umask(0o022)\n"
            "print(oct(mask), oct(stat.S_IMODE(os.stat(sys.argv[1]).st_mode)))\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f.bin")], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["0o77", "0o600"]
