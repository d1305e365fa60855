"""Build hook: a wheel records the git commit it was built from (``BUILD_COMMIT`` in the
package), so results made with an installed wheel say which code produced them. Everything
else about the package is in pyproject.toml."""

import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def checkout_commit() -> str | None:
    """This checkout's commit (with '-dirty' for uncommitted changes), or None."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != HERE:
            return None
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return git("rev-parse", "HEAD") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


class BuildWithCommit(build_py):
    def run(self):
        super().run()
        if self.dry_run or getattr(self, "editable_mode", False):
            return  # an editable install reads the commit from the checkout itself
        commit = checkout_commit()
        if commit:
            (Path(self.build_lib) / "collective_impact" / "BUILD_COMMIT").write_text(commit)


setup(cmdclass={"build_py": BuildWithCommit})
