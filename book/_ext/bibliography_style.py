"""Author-year labels in the bibliography, matching the author-year citations in the text.

sphinxcontrib-bibtex cites in the text as "Daly et al. [2018]" but its pybtex styles label the
bibliography [1], [2], ...; this registers the pybtex style ``authoryear``: the ``plain`` style with
labels "Daly et al. 2018" (a, b suffixes when two entries share one) and "et al." for a truncated
author list ("... and others" in the .bib file).
"""
from pybtex.plugin import register_plugin
from pybtex.style.template import FieldIsMissing
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import join, node


def _family(person) -> str:
    return " ".join(person.prelast_names + person.last_names).replace("{", "").replace("}", "")


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = []
        for entry in sorted_entries:
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            real = [person for person in persons if str(person) != "others"]
            if not real:
                who = entry.key
            elif len(persons) >= 3 or len(real) < len(persons):
                who = f"{_family(real[0])} et al."
            elif len(real) == 2:
                who = f"{_family(real[0])} and {_family(real[1])}"
            else:
                who = _family(real[0])
            labels.append(f"{who} {entry.fields.get('year', '')}".strip())
        seen = {}
        for label in labels:
            seen[label] = seen.get(label, 0) + 1
        suffix = {}
        for label in labels:
            if seen[label] > 1:
                suffix[label] = suffix.get(label, 0) + 1
                yield f"{label}{'abcdefghijklmnopqrstuvwxyz'[suffix[label] - 1]}"
            else:
                yield label


@node
def _names_et_al(children, data, role, **kwargs):
    """The names of ``role``, with a trailing "others" written as "et al."."""
    try:
        persons = data["entry"].persons[role]
    except KeyError:
        raise FieldIsMissing(role, data["entry"]) from None
    style = data["style"]
    real = [person for person in persons if str(person) != "others"]
    formatted = [style.format_name(person, style.abbreviate_names) for person in real]
    if len(real) < len(persons):  # truncated list: "A, B, C, et al."
        return Text(join(sep=", ")[formatted].format_data(data), ", et al." if len(real) > 1 else " et al.")
    return join(sep=", ", sep2=" and ", last_sep=", and ")[formatted].format_data(data)


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabels

    def format_names(self, role, as_sentence=True):
        from pybtex.style.template import sentence

        formatted = _names_et_al(role)
        return sentence[formatted] if as_sentence else formatted


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
