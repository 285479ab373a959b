"""Template matching: anchored regexes, single-line variables, explanations, the registry."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.kakao.templates import Rendered, Template, TemplateProblem, TemplateRegistry, compile_template

T = Template("S", "T1", "#{name}님, 주문 #{order}번이 발송되었습니다.\n배송 조회: #{url}")


def compiled(body: str, *, multiline: bool = False):
    return compile_template(Template("S", "T", body), multiline=multiline)


def test_rendered_body_matches() -> None:
    """The template text with every variable replaced matches."""
    assert compile_template(T).matches("홍길동님, 주문 A-1번이 발송되었습니다.\n배송 조회: https://x/1")


@pytest.mark.parametrize(
    "body",
    [
        "님, 주문 A-1번이 발송되었습니다.\n배송 조회: https://x/1",
        "홍길동님, 주문 번이 발송되었습니다.\n배송 조회: https://x/1",
        "홍길동님, 주문 A-1번이 발송되었습니다.\n배송 조회: ",
    ],
    ids=["first", "middle", "last"],
)
def test_variables_must_not_be_empty(body: str) -> None:
    """A variable stands for at least one character, wherever it is."""
    assert not compile_template(T).matches(body)


def test_extra_text_after_the_template_does_not_match_in_the_middle() -> None:
    """Text added to a fixed line is a mismatch; the match is anchored at both ends."""
    c = compile_template(T)
    assert not c.matches("홍길동님, 주문 A-1번이 발송되었습니다!\n배송 조회: https://x/1")
    assert not c.matches("[광고] 홍길동님, 주문 A-1번이 발송되었습니다.\n배송 조회: https://x/1\n")
    assert not c.matches("홍길동님, 주문 A-1번이 발송되었습니다.\n배송 조회: https://x/1\n추가 문구")


def test_variables_do_not_span_newlines_unless_allowed() -> None:
    """By default a value may not bring line breaks; multiline templates allow it."""
    body = "홍길\n동님, 주문 A-1번이 발송되었습니다.\n배송 조회: https://x/1"
    assert not compile_template(T).matches(body)
    assert compile_template(T, multiline=True).matches(body)


def test_crlf_is_normalised() -> None:
    """\\r\\n in the body matches \\n in the template."""
    assert compile_template(T).matches("홍길동님, 주문 A-1번이 발송되었습니다.\r\n배송 조회: https://x/1")


def test_regex_metacharacters_in_the_template_are_literal() -> None:
    """Template text like '(1+1)*' is matched literally."""
    c = compiled("값 (1+1)* = #{v}.")
    assert c.matches("값 (1+1)* = 2.")
    assert not c.matches("값 11111 = 2.")


def test_explanation_points_at_the_first_difference_without_the_body() -> None:
    """A mismatch names line and column and quotes the template, never the body's own text."""
    body = "홍길동님, 주문 A-1번이 출발했습니다.\n배송 조회: https://secret.example/1"
    m = compile_template(T).explain(body)
    assert m is not None
    assert (m.line, m.column) == (1, 16)  # the '출' of 출발 where the template says 발송
    assert "'번이 발송되었습니다." in m.expected and "#{order}" in m.expected
    assert "secret.example" not in m.describe() and "출발" not in m.describe()


def test_explanation_finds_a_changed_word_on_the_last_line() -> None:
    """A changed character in the last fixed text is reported at its own position."""
    c = compiled("#{a}님 안녕하세요.\n오늘 #{b}에 배송됩니다.")
    m = c.explain("철수님 안녕하세요.\n오늘 3시에 배달됩니다.")
    assert m is not None and (m.line, m.column) == (2, 9)  # the '달' of 배달
    assert "'에 배송됩니다.'" in m.expected


def test_explanation_of_a_changed_first_line() -> None:
    """A body starting differently from a fixed head is reported at the first differing column."""
    m = compiled("[안내] #{a}").explain("[알림] 값")
    assert m is not None and (m.line, m.column, m.expected) == (1, 2, "'안내] '")


def test_pathological_mismatch_is_fast() -> None:
    """Fifteen space-separated variables against 900 words that do not match give up at once."""
    # a naive backtracking regex would not finish here; pytest-timeout guards this test
    c = compiled(" ".join(f"#{{v{i}}}" for i in range(15)) + "!")
    assert not c.matches(" ".join(["a"] * 900) + "?")


_ALPHA = st.sampled_from(list("ab \n"))


@st.composite
def _template_and_body(draw: st.DrawFn) -> tuple[str, str]:
    parts = draw(st.lists(st.one_of(st.text(_ALPHA, min_size=1, max_size=3), st.just("#{v}")), max_size=5))
    template = "".join(parts)
    if draw(st.booleans()):
        body = draw(st.text(_ALPHA, max_size=12))
    else:  # a rendering with arbitrary values (maybe empty, maybe with line breaks), maybe cut
        values = iter(draw(st.lists(st.text(_ALPHA, max_size=4), min_size=5, max_size=5)))
        body = re.sub(r"#\{v\}", lambda _: next(values), template)
        body = body[: draw(st.integers(0, len(body)))] if draw(st.booleans()) else body
    return template, body


def _naive(template: str, multiline: bool) -> re.Pattern[str]:
    pieces = re.split(r"#\{[^{}\r\n]+\}", template)
    char = "." if multiline else "[^\n]"
    return re.compile("\\A" + f"({char}+)".join(re.escape(p) for p in pieces) + "\\Z", re.DOTALL if multiline else 0)


@settings(max_examples=150, deadline=None)
@given(_template_and_body(), st.booleans())
def test_atomic_regex_agrees_with_a_naive_backtracking_one(case: tuple[str, str], multiline: bool) -> None:
    """Committing to the earliest literal never changes the verdict of the plain regex."""
    template, body = case
    c = compiled(template, multiline=multiline) if template else None
    if c is None:
        return
    expected = _naive(template, multiline).match(body) is not None
    assert c.matches(body) is expected
    assert (c.explain(body) is None) is expected


@settings(max_examples=200, deadline=None)
@given(_template_and_body())
def test_a_rendered_body_always_matches(case: tuple[str, str]) -> None:
    """Substituting any single-line non-empty values gives a matching body."""
    template, _ = case
    if not template:
        return
    body = template.replace("#{v}", "x y")
    assert compiled(template).matches(body)


def test_registry_reports_unknown_unapproved_mismatch_and_buttons() -> None:
    """The registry names the template and the problem for each kind of refusal."""
    link = {"type": "WL", "name": "열기", "linkMo": "https://x.example/#{x}"}
    reg = TemplateRegistry.build(
        [
            T,
            Template("S", "WAIT", "대기 #{x}", status="reviewing"),
            Template("S", "BTN", "버튼 #{x}", buttons=(link,)),
        ]
    )
    assert reg.check("S", "NONE", "x").slug == "alimtalk_template_unknown"
    assert reg.check("S", "WAIT", "대기 1").slug == "alimtalk_template_not_approved"
    assert reg.check("S", "T1", "다른 본문").slug == "alimtalk_template_mismatch"
    problem = reg.check("S", "BTN", "버튼 1", [{"type": "WL", "name": "닫기"}])
    assert problem.slug == "alimtalk_buttons_mismatch" and "button 1 name" in problem.reason
    assert reg.check("S", "BTN", "버튼 1", [{"type": "WL", "name": "열기", "linkMo": "https://x.example/1"}]) is None
    other = reg.check("S", "BTN", "버튼 1", [{"type": "WL", "name": "열기", "linkMo": "https://evil.example/1"}])
    assert other.slug == "alimtalk_buttons_mismatch" and "linkMo" in other.reason
    assert reg.check("S", "BTN", "버튼 1") is None
    assert (
        reg.check("OTHER", "T1", "홍길동님, 주문 A-1번이 발송되었습니다.\n배송 조회: x").slug
        == "alimtalk_template_unknown"
    )


def test_values_are_captured_from_the_body() -> None:
    """Every variable standing alone between literals gets its value from the body; adjacent ones do not."""
    assert compile_template(T).values("홍길동님, 주문 A-1번이 발송되었습니다.\n배송 조회: https://x/1") == {
        "name": "홍길동",
        "order": "A-1",
        "url": "https://x/1",
    }
    assert compiled("#{a}#{b} 끝").values("12 끝") == {}
    assert compiled("#{a} 끝").values("다른") is None


RICH = Template(
    "S",
    "RICH",
    "#{name}님, 주문 #{order}번이 접수되었습니다.",
    buttons=(
        {"ordering": 1, "type": "WL", "name": "주문 보기", "linkMo": "https://shop.example/o/#{order}"},
        {
            "ordering": 2,
            "type": "AL",
            "name": "앱에서 보기",
            "schemeIos": "shop://o/#{order}",
            "schemeAndroid": "shop://o/#{order}",
        },
    ),
    emphasis="ITEM_LIST",
    header="주문 접수",
    title="#{total}원",
    item={
        "list": [{"title": "상품", "description": "#{product}"}, {"title": "배송", "description": "#{when} 도착"}],
        "summary": {"title": "합계", "description": "#{total}원"},
    },
    highlight={"title": "#{product}", "description": "주문 #{order}"},
    represent_link={"linkMo": "https://shop.example/o/#{order}"},
    quick_replies=({"ordering": 1, "type": "WL", "name": "문의", "linkMo": "https://shop.example/q/#{order}"},),
)
RICH_BODY = "홍길동님, 주문 A-7번이 접수되었습니다."
RICH_VARIABLES = {"total": "12,000", "product": "커피", "when": "내일"}


def test_every_field_of_a_rich_template_is_rendered() -> None:
    """Title, header, items, summary, highlight, links of buttons, representative link and quick replies filled in."""
    rendered = TemplateRegistry.build([RICH]).render("S", "RICH", RICH_BODY, variables=RICH_VARIABLES)
    assert isinstance(rendered, Rendered)
    assert (rendered.title, rendered.header) == ("12,000원", "주문 접수")
    assert rendered.item == {
        "list": [{"title": "상품", "description": "커피"}, {"title": "배송", "description": "내일 도착"}],
        "summary": {"title": "합계", "description": "12,000원"},
    }
    assert rendered.highlight == {"title": "커피", "description": "주문 A-7"}
    assert rendered.represent_link == {"linkMo": "https://shop.example/o/A-7"}
    assert [b.get("linkMo") or b.get("schemeIos") for b in rendered.buttons] == [
        "https://shop.example/o/A-7",
        "shop://o/A-7",
    ]
    assert rendered.quick_replies[0]["linkMo"] == "https://shop.example/q/A-7"


def test_a_variable_without_a_value_or_disagreeing_with_the_body_refuses() -> None:
    """Missing values are named; extras.variables contradicting the body are refused; never a '#{' sent."""
    reg = TemplateRegistry.build([RICH])
    missing = reg.render("S", "RICH", RICH_BODY, variables={"total": "1"})
    assert isinstance(missing, TemplateProblem) and missing.slug == "alimtalk_variable_missing"
    assert "#{product}" in missing.reason and "#{when}" in missing.reason
    clash = reg.render("S", "RICH", RICH_BODY, variables={**RICH_VARIABLES, "order": "B-1"})
    assert isinstance(clash, TemplateProblem) and clash.slug == "alimtalk_variables_mismatch"


def test_rendered_fields_are_checked_against_kakaos_limits() -> None:
    """A title over 50 characters after substitution, or a web link that loses its scheme, is refused."""
    reg = TemplateRegistry.build([RICH])
    long = reg.render("S", "RICH", RICH_BODY, variables={**RICH_VARIABLES, "total": "9" * 60})
    assert isinstance(long, TemplateProblem) and long.slug == "alimtalk_rules" and "title" in long.reason
    link = Template("S", "L", "#{x}", buttons=({"type": "WL", "name": "열기", "linkMo": "#{url}"},))
    bad = TemplateRegistry.build([link]).render("S", "L", "값", variables={"url": "javascript:alert(1)"})
    assert isinstance(bad, TemplateProblem) and "http://" in bad.reason
