"""Who is writing: the collecting side is told what Anxin is for, a borrower is never turned away."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase
from bot.understanding import COLLECTION_BUSINESS, CREDITOR_SIDE, OTHER_LEGAL, SCAM_OTHER, role

REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def bundled(bundled_knowledge: KnowledgeBase) -> KnowledgeBase:
    return bundled_knowledge  # `load_knowledge(REPO)`, once per run (conftest)


@pytest.mark.parametrize(
    "text",
    [
        "我是做催收的，客户老是不接电话有什么办法",
        "我在一家小贷公司上班，想问晚上九点还能打给借款人吗",
        "表哥借了我八千块两年了，我能去他单位闹吗",
        "我借給同學三萬，佢一直拖，我可唔可以打畀佢屋企人？",
        "欠我钱的那个人换号了，怎么找到他",
        "我們公司的客戶逾期半年了，可以寄信到他家嗎",
        "我在一家银行信用卡中心催收部上班，客户一直不接电话怎么办",
        "I'm a debt collector. Can I text the borrower's sister?",
        "My roommate owes me two months of rent, can I tell his boss?",
        # a sibling who borrowed "here", and the person lent to named with a word before them
        "我妹妹从我这借了三千块，说月底就还，到现在一直拖着，怎么跟她要",
        "我借给高中同学八千，他现在电话都不接了，能去找他爸妈吗",
        # the writer's company collects, or the writer works in a lender's collection department
        "我们公司是专门做不良贷后的，能不能上门找欠款人的父母",
        "我在一家网贷公司的催收中心工作，每天打不通几百个电话，这正常吗",
        "上个月进了一家贷后管理公司，主管让我们打借款人的紧急联系人，这样行吗",
        # the writer owns the lender, or the company's line is "贷后管理"
        "我是开小贷公司的，借款人换了号码还能找他家人吗",
        # the same without 是…的, and money lent to someone named said as 借给 + who + 钱
        "我们开了家贷款公司，借款人半年没还，可以去他单位吗",
        "借给老乡钱两年了一直不还，我能在他们村群里发他照片吗",
        "我们公司是搞贷后管理的，外访能去借款人单位吗",
    ],
)
def test_the_creditor_side_is_recognised(bundled: KnowledgeBase, text: str) -> None:
    assert role(text, bundled.matcher.lexicon) == CREDITOR_SIDE
    decision = bundled.decide(text)
    assert (decision.kind, decision.topic) == ("fallback", CREDITOR_SIDE), decision


@pytest.mark.parametrize(
    "text",
    [
        "打算成立一家催收公司，要办哪些手续",
        "討債公司怎麼註冊",
        "how do I set up a debt collection agency",
        "想去应聘催收岗位，待遇怎么样",
        "我想进催收公司上班，这行犯不犯法",
        "想入收數公司打工，份工點樣",
        # opening an asset-management firm to take collection work, and a collector's pay
        "打算注册一家资管公司接银行的外包催收单子，要多少启动资金",
        "催收人员底薪一般多少",
    ],
)
def test_a_collection_business_is_recognised(bundled: KnowledgeBase, text: str) -> None:
    assert role(text, bundled.matcher.lexicon) == COLLECTION_BUSINESS


@pytest.mark.parametrize(
    "text",
    [
        "我是老师，催收打电话到学校找校长",
        "我是紧急联系人，催收让我替朋友还钱",
        "我是被催收的那个人，他们天天打电话",
        "催收说我是老赖，还说要起诉我",
        "我是做生意的 欠了三个网贷 催收天天打",
        "反催收团队说交钱能帮我停息挂账，靠谱吗",
        "这个催收话术也太吓人了吧",
        "老板拖欠我三个月工资，催收还天天打给我",
        "平台借给我的钱利息太高了",
        "朋友借我两万帮我还了网贷，现在催收还打给他",
        "他借了我的身份证去网贷，现在催收找我",
        "The collector says I owe them 5000, is that right?",
        "A collection agency keeps calling my mum",
        # a borrower's own promise to repay "when the wages come", a sibling's debt, a collector's job done badly
        "我跟平台说发工资就还，催收还是天天打",
        "我弟弟借了网贷还不上，催收天天打给我，我要替他还吗",
        "催收员的工作就是骂人吗",
        "催收打到我工作的地方",
        # "借给我" is "lent me": the writer is the borrower
        "我朋友借给我他的卡还网贷，现在催收找他",
        "表哥借给我三万帮我还了网贷，催收还在打",
        "I borrowed 5000 from my sister to repay the app and they still call",
        # the borrower's own workplace, a complaint to the collection department, a complaint about outsourcing
        "我们公司是做外贸的，催收天天打到前台",
        "我在平台的催收部门投诉了也没用",
        "想直接向银行客服投诉委外催收的态度",
        # a borrower's account on a lender's app is not a lender of their own
        "我们开了个网贷平台的账户，现在逾期了",
        "朋友借给我钱帮我还网贷，催收现在打他电话",
        "我开了家奶茶店，生意不好，网贷逾期了",
    ],
)
def test_a_borrower_is_not_turned_away(bundled: KnowledgeBase, text: str) -> None:
    assert role(text, bundled.matcher.lexicon) is None


@pytest.mark.parametrize(
    "text",
    [
        "我表弟两年前借了我5万块做生意，一直拖着不还，能不能去法院起诉他？",
        "朋友跟我借了十萬都不還，我可以去聲請支付命令嗎？",
        "我借给生意伙伴二十万他不还，还把我拉黑了，我能不能把他的信息发到朋友圈曝光他？",
        # the sign it was not paid back told after a run of voice-input story, a typo for 朋友, "借给我<someone>"
        "我堂哥借了我八千块 说好发工资就还 结果现在微信也不回我了 我能找他单位吗",
        "我盆友借我五千一直不还，可以报警吗",
        "我去年借给我同学两万，到现在都没还",
        "My coworker borrowed 3000 from me last year and keeps dodging me, can I call his wife?",
        # money lent out told from the lender's end, a time word before 借, a measure word before the friend (dev-14)
        "我借出去给别人的钱一直要不回来，能起诉吗",
        "借给别人的钱拖了两年，我该怎么要",
        "我放出去的那几笔款都逾期了，能找他们家里人吗",
        "我前年借咗錢畀個舊同事，佢一直唔還",
        "A customer in Shenzhen owes us 50k on invoices. How can we collect from them?",
    ],
)
def test_money_lent_to_a_relative_or_partner_is_the_creditor_side(bundled: KnowledgeBase, text: str) -> None:
    assert role(text, bundled.matcher.lexicon) == CREDITOR_SIDE


@pytest.mark.parametrize(
    "text",
    [
        # a borrower whose clients or whose employer's HR were called, not a lender speaking of "our customers"
        "催收打电话到我们客户那边去了，他们有这个权利吗",
        "Is it legal for a collection agency to call my HR department?",
    ],
)
def test_a_borrower_whose_clients_or_hr_were_called_is_not_the_creditor_side(
    bundled: KnowledgeBase, text: str
) -> None:
    assert role(text, bundled.matcher.lexicon) is None


def test_a_shop_owner_who_mentions_their_customers_is_still_a_borrower(bundled: KnowledgeBase) -> None:
    text = "How to block all these collection calls on my phone without missing my customers' calls?"
    assert role(text, bundled.matcher.lexicon) is None
    assert bundled.decide(text).intent == "report.harassing_calls"


_SCAMS = [
    "网恋认识的人带我炒数字货币，充了三万现在提不出来，要去派出所吗",
    "被杀猪盘骗走八万，报警有用吗",
    "I met a woman on a dating site who had me invest in bitcoin on her platform. Should I go to the police?",
    # a scam ring and game points, an investment chat group whose host vanished (dev-14)
    "被诈骗集团骗了一万多，能报警吗",
    "我爸进了个理财群跟着投钱，现在群主跑路了，怎么追回",
    # a "refund" call that wants the screen shared, a stranger's crypto scheme (dev-15)
    "有人说我的包裹丢了要给我退款，让我打开屏幕共享，是骗子吗",
    "A guy on Instagram keeps telling me to invest in his crypto fund for big monthly returns. Legit?",
    "短信说我抽中了大奖，要先交三百块手续费才能领，是真的吗",
    "群里有个老师带大家买基金，说保证一个月翻倍，要不要跟",
    "网上招在家打字的兼职，说月入两万，先交押金，靠谱吗",
]
_DISPUTES = [
    "开车的时候被后面的车追尾了，对方想私了，我要不要报警",
    "房东一直扣着我的押金不退，可以去派出所吗",
    "We had a car accident and the other driver says he will sue me. Do I need a lawyer?",
    "準備離婚，層樓同仔女點分，要唔要請律師",
]


@pytest.mark.parametrize(
    ("text", "kind"), [(text, SCAM_OTHER) for text in _SCAMS] + [(text, OTHER_LEGAL) for text in _DISPUTES]
)
def test_a_scam_or_another_dispute_with_no_loan_behind_it_is_out_of_scope(
    bundled: KnowledgeBase, text: str, kind: str
) -> None:
    assert role(text, bundled.matcher.lexicon) == kind
    assert bundled.decide(text).kind == "fallback"


@pytest.mark.parametrize(
    "text",
    [
        # a loan named: a borrower's question, however much of it is about the scam or the dispute
        "被杀猪盘骗了以后又借了三个网贷去填，现在催收天天打，能报警吗",
        "刷单被骗之后借呗逾期了，会不会上征信",
        "催收让我开屏幕共享给他看我的网贷账户，能照做吗",
        "出了车祸住院，网贷还不上，催收天天打",
        "离婚的时候房子归我了，前夫的网贷要我还吗",
        "房东不退押金，我还欠着花呗，先还哪个",
    ],
)
def test_a_scam_or_a_dispute_told_with_a_loan_is_still_a_borrowers_question(bundled: KnowledgeBase, text: str) -> None:
    assert role(text, bundled.matcher.lexicon) is None

