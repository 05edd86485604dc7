"""The README's policy table is the catalogue's."""
import re
from pathlib import Path

from rootguard_filters import catalog

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_policy_table_matches_the_catalogue():
    text = README.read_text()
    table = re.search(r"<!-- policy-table:start[^\n]*-->\n(.*?)\n<!-- policy-table:end -->", text, re.S)
    assert table, "README lost its policy-table markers"
    assert table.group(1).strip() == catalog.markdown_table()
