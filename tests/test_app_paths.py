"""Confinement of user-typed repository paths (``--repo-root``): explorer.paths."""
from __future__ import annotations

import os

import pytest

from explorer.paths import MAX_PATH_CHARS, display_path, resolve_repo_path
from explorer.repo.errors import ExplorerError, PathNotAllowedError


@pytest.fixture
def roots(tmp_path):
    """Two allowed roots with a repository each, a secret directory beside them, and symlinks."""
    a = tmp_path / "data" / "a"
    b = tmp_path / "data" / "b"
    secret = tmp_path / "secret"
    for d in (a / "repo1", b / "repo2", secret / "private"):
        d.mkdir(parents=True)
    (a / "escape").symlink_to(secret / "private")  # a link inside a root pointing out of it
    (a / "inside").symlink_to(a / "repo1")  # a link that stays inside
    return a, b, secret


def test_relative_input_resolves_against_the_first_root(roots):
    a, b, _ = roots
    assert resolve_repo_path("repo1", [str(a), str(b)]) == os.path.realpath(a / "repo1")
    assert resolve_repo_path("  repo1  ", [str(a)]) == os.path.realpath(a / "repo1")


def test_absolute_paths_inside_any_root_are_allowed(roots):
    a, b, _ = roots
    assert resolve_repo_path(str(b / "repo2"), [str(a), str(b)]) == os.path.realpath(b / "repo2")
    assert resolve_repo_path(str(a), [str(a)]) == os.path.realpath(a)


@pytest.mark.parametrize("text", ["../secret", "repo1/../../secret", "..", "repo1/..", "%2e%2e/secret",
                                  "%2E%2E%2Fsecret", "%252e%252e/secret", "repo1\\..\\..\\secret"])
def test_parent_components_are_refused_plain_or_encoded(roots, text):
    a, _, _ = roots
    with pytest.raises(PathNotAllowedError, match=r"'\.\.'"):
        resolve_repo_path(text, [str(a)])


def test_absolute_path_outside_the_roots_is_refused(roots):
    a, _, secret = roots
    with pytest.raises(PathNotAllowedError, match="outside the allowed directories"):
        resolve_repo_path(str(secret / "private"), [str(a)])
    with pytest.raises(PathNotAllowedError):
        resolve_repo_path("/etc", [str(a)])


def test_symlink_pointing_out_is_refused_and_one_staying_in_is_followed(roots):
    a, _, _ = roots
    with pytest.raises(PathNotAllowedError, match="outside"):
        resolve_repo_path("escape", [str(a)])
    assert resolve_repo_path("inside", [str(a)]) == os.path.realpath(a / "repo1")


def test_prefix_sibling_is_not_inside(tmp_path):
    """/x/data-other is not inside /x/data although the string starts the same."""
    root = tmp_path / "data"
    other = tmp_path / "data-other"
    root.mkdir()
    other.mkdir()
    with pytest.raises(PathNotAllowedError):
        resolve_repo_path(str(other), [str(root)])


@pytest.mark.parametrize("text", ["repo1\x00", "repo1%00", "x" * (MAX_PATH_CHARS + 1), "", "   "])
def test_nul_overlong_and_empty_input_are_refused(roots, text):
    a, _, _ = roots
    with pytest.raises(PathNotAllowedError):
        resolve_repo_path(text, [str(a)])


def test_errors_are_explorer_errors_with_one_line_messages(roots):
    a, _, _ = roots
    with pytest.raises(ExplorerError) as info:
        resolve_repo_path("../x", [str(a)])
    assert "\n" not in str(info.value)


def test_a_root_that_does_not_exist_is_a_clear_error(tmp_path):
    with pytest.raises(PathNotAllowedError, match="not an existing directory"):
        resolve_repo_path("x", [str(tmp_path / "nope")])


def test_without_roots_paths_are_only_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_repo_path("some/repo", []) == str(tmp_path / "some" / "repo")
    with pytest.raises(PathNotAllowedError):
        resolve_repo_path("a\x00b", [])


def test_display_path_round_trips(roots):
    a, b, _ = roots
    real = resolve_repo_path("repo1", [str(a), str(b)])
    shown = display_path(real, [str(a), str(b)])
    assert shown == "repo1"
    assert resolve_repo_path(shown, [str(a), str(b)]) == real
    other = resolve_repo_path(str(b / "repo2"), [str(a), str(b)])
    assert resolve_repo_path(display_path(other, [str(a), str(b)]), [str(a), str(b)]) == other
