"""The apps depend one way: review builds on edition, never the reverse."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_edition_never_imports_review():
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path)
                                            if m == "review" or m.startswith("review."))
        for path in (ROOT / "edition").rglob("*.py")
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_the_check_sees_an_import_of_review(tmp_path):
    # The test above must be able to fail: an import in any form is found.
    module = tmp_path / "m.py"
    module.write_text("import review.models\nfrom review.actions import approve\n"
                      "def f():\n    from review import access\n")
    assert imported_modules(module) == {"review.models", "review.actions", "review"}
