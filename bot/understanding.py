"""Before matching: who is writing. Anxin answers borrowers; the other side of a debt gets a different reply.

A collector asking how late they may call, a lender asking whether they may visit a customer, someone whose
friend owes *them* money asking whether they may call the friend's parents: all of them share nearly every word
with a borrower's question ("can they call after ten?", "can they come to my home?"), so the examples alone
cannot keep them apart. What gives them away is how they speak of themselves: "我是催收员", "我们公司的客户逾期",
"朋友欠我两万", "my cousin owes me". `role` reads that; the knowledge base then falls back with the
out-of-scope intent's reply (what Anxin is for) instead of a borrower's answer.

The patterns are deliberately narrow (the writer in the collecting role): a borrower writing "催收说我是老赖",
"我是老师，催收打到学校" or "我是紧急联系人" must never be turned away. They run on the text folded like the
matcher's (NFKC, lower case, Simplified) with its punctuation kept, after the lexicon (Cantonese 收數 → 催收,
討債 → 催收, 表哥 → 亲戚), so one pattern covers every script and dialect.
"""

from __future__ import annotations

import re

from .lexicon import Lexicon
from .patterns import lazy
from .text import simplified_folded

CREDITOR_SIDE = "oos.creditor_side"
COLLECTION_BUSINESS = "oos.collection_business"
SCAM_OTHER = "oos.scam_other"
OTHER_LEGAL = "oos.other_legal"

# People who borrow from the writer (after the lexicon: 表哥/堂姐 → 亲戚, 老板 → 领导).
_PEOPLE = (
    r"(?:朋友|同事|同学|亲戚|前男友|前女友|前任|男朋友|女朋友|邻居|老乡|熟人|舍友|室友|领导|客户|租客|房客|生意伙伴|合伙人|伙伴|兄弟|哥们|闺蜜|发小"
    r"|弟弟|妹妹|哥哥|姐姐"
    r"|他|她|对方|别人|人家|人)"
)
# The same, named (no pronouns): "借给我发小" names who borrowed, "借给我他的卡" does not.
_NAMED = _PEOPLE.replace("|他|她|对方|别人|人家|人)", ")")
# Where the writer works, when they name a lender or collector as their employer.
_LENDER = r"(?:催收|贷款|小贷|网贷|金融|银行|放贷|信贷|资产管理)(?:公司|机构|平台|部门|中心)?"

_BUSINESS = lazy(
    r"(?:开|办|成立|注册|创办|经营|做)(?:一家|一个|个|间)?(?:催收|收账|收数|追债)(?:公司|生意|业务|部门)"
    r"|(?:开|成立|注册)(?:一家|一个|个|间)?催收|催收(?:公司)?(?:要|要怎么|怎么|如何)(?:注册|成立|开|收费)"
    r"|催收(?:公司)?(?:要|需要|得)?(?:办|申请|有)?(?:什么|哪些|咩)?(?:牌照|执照|资质)"
    r"|(?<!反)(?<!这个)(?<!这种)(?<!他们的)催收(?:话术|说术|技巧)(?!.{0,8}(?:应对|怎么办|真的|吓|套路|太|好|真))|学(?:习)?催收"
    r"|(?<!反)催收(?:员|人员)?的?(?:培训|入门|这行|行业|生意|团队|系统|软件|提成|底薪|佣金)"
    # someone weighing a job in collection: "催收员这份工作工资高吗"
    r"|催收(?:员|人员)?(?:这份|这个|这|的)?(?:工作|岗位|职位)[的，,]?(?:工资|收入|待遇|好不好做|好做|累不累|前景|赚钱)"
    r"|(?:做|接)(?:委外|外包)催收|催收(?:外包)?业务(?:怎么)?接|催收公司.{0,6}(?:收费|佣金)"
    # "开一家资产管理公司，专门接网贷平台的委外催收业务", "催收员工资高吗"
    r"|(?:开|办|成立|注册|创办)(?:一家|一个|个|间|一间)?(?:资产管理|资管|债务管理|债权管理)公司"
    r"|(?<![直间连转承对])接(?:了|下)?[^，,。？?！!]{0,8}?(?:委外|外包)催收(?:业务|单子|的单|的活)"
    r"|(?<![直间连转承对])接(?:了|下)?[^，,。？?！!]{0,8}?催收(?:业务|单子|的单|的活)"
    r"|催收(?:员|人员)的?(?:工资|收入|待遇|底薪|提成)(?:高|多少|怎么样|怎样|好|低|一般)"
    r"|(?:入|进)(?:一家|一间|间)?催收(?:公司)?(?:做|上班|工作|面试|打工)|去(?:一家|一间|间)?催收公司(?:做|上班|工作|面试|打工)|(?:请|招|招聘)(?:人做)?催收|催收(?:业务|单子)(?:怎么)?(?:接|外包)|不良(?:资产|债权)"
    # someone asking how to become a collector: "怎么当催收员", "想成为一名催收" (not "不想当催收的出气筒")
    r"|(?:怎么|如何|怎样|想|要)(?:当|成为)(?:一名|一个|个)?催收(?:员|人员|专员)?(?!的)"
    r"|\b(?:start|open|set up|register|run|running)(?: a| an| my own)? (?:debt )?collection (?:company|agency|business)"
    r"|\b(?:as|work(?:s|ing|ed)? for|run) (?:a|an|our) (?:debt )?collection agency\b"
    r"|\b(?:improve|increase|raise) (?:our |the )?recovery rate"
    r"|\bcollection (?:call )?(?:scripts?|cent(?:re|er))\b|\bhir(?:e|ing) (?:debt )?collectors\b"
    r"|\btraining (?:new )?collection agents\b|\bcollection business\b|\b(?:open|start) (?:a )?催收 ?company"
    r"|\bcollection agenc(?:y|ies) (?:need|charge)|(?:licen[cs]e|commission|profitable).{0,30}collection agenc"
)
_COLLECTOR = lazy(
    # "我是催收员", "我是做催收的", "我是银行的催收专员", "我是网贷公司贷后部门的"
    r"我们?(?:是|系|做|干|当)(?:一名|一个|个)?(?:做|干)?(?:[\u4e00-\u9fff]{0,6}?(?:公司|银行|平台|机构|部门|网贷|委外|外包)的?)?"
    r"(?:催收|贷后|风控|放贷|放款|出借人|放款人)"
    r"|我们?(?:是|系)?(?:在|喺)(?:一家|一间)?(?:" + _LENDER + r"){1,2}的?(?:上班|工作|做催收|做事|负责)"
    r"|我们?(?:是|系)" + _LENDER + r"(?:的)?(?:职员|员工|工作人员)"
    # "我们公司是做债权催收的", "我在一家持牌消费金融公司的贷后部门上班"
    r"|(?:我们|我司|本)公司(?:是|系)?(?:专门)?(?:做|干|搞)[^的，,。？?！!\s]{0,3}?(?:催收|贷后|放贷)(?:管理)?(?:的|业务|生意|工作)"
    # "我是开网贷公司的", "我们是开小贷公司的": the writer owns the lender
    r"|我们?(?:是|系)(?:自己)?(?:开|办)(?:一家|一个|个|间)?(?:网贷|贷款|小贷|放贷|借贷|金融)(?:公司|平台)的"
    # "我开了家小贷公司，借款人逾期不还": the writer owns the lender, said without 是…的
    r"|我们?(?:自己)?(?:开|办)了(?:一家|一个|个|间|家)(?:网贷|贷款|小贷|放贷|借贷)(?:公司|平台)"
    r"|(?:在|喺)[^，,。？?！!]{0,14}?(?:贷后|催收)(?:部门|部|中心|组|岗|团队|岗位)(?:上班|工作|做事|任职|干活|做了|干了)"
    # "我刚入职一家贷后管理公司做电催", "进了一家催收公司"
    r"|(?:入职|进了|进入|加入)(?:了)?(?:一家|一间|个)?[^，,。？?！!]{0,6}?(?:贷后|催收)(?:管理)?(?:公司|机构|部门|团队)"
    r"|(?:做|干|当)电催|电催(?:员|专员|岗|这行|工作)"
    r"|我们?(?:是|系)(?:一家|一间)?(?:小贷|贷款|网贷|金融|催收|放贷)公司|我们(?:小贷|贷款|网贷)公司"
    r"|(?:^|[，,。？?！!\s])(?:做|干)催收(?:的|这行|工作|被|一个月|能|赚)"
    r"|我是 ?(?:a )?(?:debt )?collect(?:or|ion agent)|(?:作为|身为)(?:一名|一个)?(?:催收|贷款公司|出借人|放款人)"
    r"|(?<![到给找去])(?:我们|我司|本公司|公司)的?(?:客户(?!群|微信群|qq群|那|那边|那里)|借款人|债务人)|做贷款业务"
    r"|(?:打给|打电(?:话|说)给|联系|催)(?:客户|债务人|欠款人)|(?:让|叫|逼)(?:客户|债务人|欠款人|借款人).{0,4}还|投诉我们"
    r"|(?:客户|债务人|欠款人)(?:一直)?(?:逾期|不还|失联|拉黑|跑路|不接|换了?号)"
    r"|(?:借款人)(?:一直)?(?:失联|拉黑|跑路|不接|换了?号|说要投诉我)"
    r"|\bi (?:work|am working) (?:as|for|in|at) (?:a |an )?(?:debt )?(?:collector|collection|lend|loan)"
    r"|\b(?:i am|i'm|we are|we're) (?:a |an )?(?:debt )?(?:collectors?|collection agents?|lenders?)\b"
    r"|\bas a (?:debt )?(?:collector|lender)\b|\bcollection agent here\b|\bi run (?:a |an )?(?:small )?lending\b"
    r"|\bcollections? job\b|\bcalls? (?:overdue )?customers\b|\bborrower (?:stopped|won't|doesn't|isn't) answer"
    r"|\bi(?: am|'m) 催收|\bmake (?:the )?(?:customer|debtor|borrower)s? pay\b"
    r"|\bour (?:customer|client|borrower|debtor)s?\b|\bmy debtors?\b"
    r"|\bmy (?:customer|client|tenant)s? (?:owes?|is|are|won't|doesn't|don't|stopped|refuses?|hasn't|haven't|keeps?)\b"
    r"|\b(?:track down|find) a debtor\b"
)
_AMOUNT = r"[0-9一二三四五六七八九十两几百千万]+"
_OWED = lazy(
    r"欠我(?:的)?(?:钱|债|货款|房租|租金|" + _AMOUNT + r"(?:块|元|万|千|百)?(?!个月))"
    # "借我钱" is also "lend me money": only with a sign that it was not paid back
    r"|" + _PEOPLE + r"[^我，,。？?]{0,6}?(?:跟我|向我|找我|问我)?借(?:了|咗)?我(?:的)?(?:钱|" + _AMOUNT + r")"
    r"[^。？?！!]{0,24}?(?:不还|没还|未还|唔还|拖|赖账|跑路|拉黑|要不回|不给|不接|不回|不理|失联|一直|至今|到现在|年了|个月了)"
    # "弟弟在我这里借了五千块，说发工资就还，现在两个月过去了一直装傻"
    # "我朋友問我借咗五千蚊一年都唔還": 问我借 is Cantonese and colloquial Mandarin for borrowing from the writer
    r"|" + _PEOPLE + r"[^我，,。？?]{0,6}?(?:跟|向|找|在|从|问)我(?:这里|这儿|这边|这)?借(?:了|走|咗)?(?:钱|" + _AMOUNT
    + r"(?:块|元|万)?[^。？?！!]{0,24}?(?:不还|没还|未还|唔还|拖|赖账|跑路|拉黑|要不回|装傻|装死|一直))"
    r"|我(?:[今去前]年|之前|以前|早前|上个?月|前几年|几年前|那时候?|当年|年初|年底)?借(?:了|咗|出)?(?:钱|"
    + _AMOUNT
    + r"(?:块|元|万)?)?(?:给|畀)(?:我的?)?"
    r"(?:一个|一位|个|位)?(?:大学|高中|初中|中学|以前的?|之前的?|老|旧)?"
    + _PEOPLE
    # "我前年借给我发小三万块": the lender is the writer, the borrower someone of theirs ("借给我" alone is "lent me")
    + r"|我[^，,。？?！!]{0,4}?借(?:了|咗)?(?:钱)?(?:给|畀)我的?(?:大学|高中|初中|中学|以前的?|之前的?|老)?" + _NAMED
    + r"|借钱(?:给|畀)"
    + _PEOPLE
    # "借给朋友钱 他不还": lent to someone named, then the money ("朋友借给我钱" is "lent me": 我 is not a name)
    + r"|(?:^|[^他她人])借(?:了|咗)?(?:给|畀)"
    + _NAMED
    + r"(?:钱|" + _AMOUNT + r"(?:块|元|万))"
    + r"|(?:帮|替)"
    + _PEOPLE
    + r"(?:去)?(?:催收|追债|要钱)|老赖欠我"
    # "借给别人的钱对方不还", "我放出去的几笔钱有三个人逾期了": what the writer lent out
    r"|借(?:出去)?(?:给|畀)" + _PEOPLE + r"的(?:钱|款)|(?:借|放)出去的[^，,。？?！!]{0,4}?(?:钱|款|贷|数)"
    r"|\bowes? (?:me|us|our company)\b|\bowed us\b|\bcollect (?:it )?from (?:them|him|her|the debtor)\b"
    r"|\bborrow(?:ed)? (?:money |[$¥]?[0-9][0-9,.k]* (?:\w+ )?)?from me\b|\bborrow(?:ed)? my money\b"
    r"|\bi lent\b|\blent (?:him|her|them|money)\b|\bwon't (?:repay|pay) me\b|\bpay me back\b|\bget my money back\b"
)
# What is owed is the writer's pay, deposit or compensation: a dispute Anxin does not cover, but not a lender's
# question either. Only the thing owed counts: "说发工资就还" is a borrower's promise, not wages owed.
_NOT_OWED = lazy(
    r"(?:欠|拖欠|拖|不退|不还|不给|扣)(?:了|我|我的|了我)?[^，,。？?]{0,4}?(?:工资|薪水|薪资|工钱|押金|按金|赔偿)"
    r"|wages?|salary|deposit"
)


# Someone scammed with no loan behind it (a pig-butchering "investment", a task job, a romance that ended in crypto)
# asks how to call the police in the very words a borrower uses about a collector, and the police answer wins by its
# keywords. Only when the message names no loan, debt or collector at all: "被刷单骗了又借了网贷" is a borrower's.
_SCAM = lazy(
    r"杀猪盘|刷单|做任务返利|网恋.{0,12}(?:投资|转账|汇款|被骗)"
    r"|(?:投资|理财|炒币|炒股|虚拟币|数字货币|加密货币|博彩)[^。？?！!]{0,12}"
    r"(?:被骗|骗了|骗走|提不了|提不出|取不出|出不了金|无法提现|不能提现)"
    # "被诈骗集团骗去买游戏点数", "拉进一个养老投资群…群主不见了"
    r"|诈骗集团|游戏点数|点数卡"
    r"|(?:投资|理财|养老|炒币|炒股)[^。？?！!]{0,6}?群[^？?！!]{0,40}?(?:群主|老师|客服)?(?:不见了|跑路|失联|联系不上|解散|拉黑)"
    r"|二次诈骗|\bpig butchering\b|\btask (?:job )?scam\b"
    # a caller offering a refund or compensation who wants the screen shared, a crypto "investment" offered by a
    # stranger: the commonest scams with no loan behind them
    r"|共享屏幕|屏幕共享|(?:快递|包裹)[^。？?！!]{0,8}(?:丢了|丢失|破损)[^。？?！!]{0,12}(?:赔|理赔|退款)"
    r"|\bscreen[ -]?shar|\b(?:crypto|bitcoin|usdt)\b.{0,40}\b(?:invest|returns?|profits?)\b"
    # returns promised on an "investment", money made typing at home
    r"|(?:投资|理财|项目|股票|炒股|基金)[^。？?！!]{0,12}(?:翻倍|保证获利|保证赚|稳赚|保本|高回报|高收益)"
    r"|在家(?:打字|兼职|做任务)|打字(?:赚钱|兼职|员)|月入[0-9一二三四五六七八九十几两]+万"
    # a prize that costs a fee to collect
    r"|中了?(?:大)?奖|\b(?:i|i ve|you ve|you) won (?:a|an)\b"
    r"|\b(?:dating|romance)\b.{0,60}\b(?:invest|crypto|bitcoin)"
    r"|\b(?:crypto|investment|trading) (?:site|platform|app|group)\b"
    r".{0,60}\b(?:can ?not|can't|won't) (?:let me )?withdraw"
)
_LOAN = lazy(
    r"网贷|贷款|借款|借了|借钱|借呗|花呗|白条|金条|催收|逾期|欠款|还款|欠钱|债|额度|分期|口子"
    r"|\b(?:loans?|collectors?|collection|debts?|owe|owed|borrow(?:ed)?|lenders?|overdue|repay)\b"
)


# A dispute of another kind (a road accident, a landlord keeping the deposit, a divorce's property) asked about in the
# words of a borrower's question ("对方要私了，我该报警吗", "我需要请律师吗"): the police or legal-aid answer wins by
# its keywords. Only when nothing in the message speaks of a loan, a debt or collecting one.
_DISPUTE = lazy(
    r"车祸|交通事故|交通意外|擦撞|追尾|剐蹭|被(?:汽车|小车|车|电单车|摩托车|电动车|的士)(?:撞|刮|碰)|撞(?:了|到)(?:人|车|别人)"
    r"|(?:押金|按金)[^。？?！!]{0,8}(?:不退|唔退|不还|唔还|扣)|(?:不退|唔肯退|唔退|不肯退|扣起?)(?:晒)?(?:我)?(?:的|啲)?(?:押金|按金)"
    r"|离婚[^。？?！!]{0,12}(?:房子|层楼|楼|财产|抚养|孩子|小孩|仔女)"
    r"|\b(?:car accident|traffic accident|hit by a (?:car|truck|bus)|rear-ended)\b"
    r"|\blandlord\b.{0,40}\bdeposit\b|\bdivorc\w*\b.{0,40}\b(?:flat|house|property|custody)\b"
)
_DEBT = lazy(_LOAN.pattern + r"|欠|借|贷|还钱|催|追数|收数|讨债|执行|\b(?:owe|debt|lend|credit)")


def fold(text: str, lexicon: Lexicon) -> str:
    """The text as the role patterns read it: the matcher's folding (NFKC, lower case, Simplified, lexicon)
    with the punctuation kept, because "我是老师，催收打到学校" must not read as "我是老师催收"."""
    return lexicon.apply(simplified_folded(text))  # the matcher's normalise folds the same text the same way first


def role(text: str, lexicon: Lexicon | None = None) -> str | None:
    """The out-of-scope intent for a message written from the collecting side (or by someone scammed with no loan
    behind it, or with another kind of dispute), or None for everyone else."""
    folded = fold(text, lexicon or Lexicon())
    if _BUSINESS.search(folded):
        return COLLECTION_BUSINESS
    if _COLLECTOR.search(folded):
        return CREDITOR_SIDE
    if _OWED.search(folded) and not _NOT_OWED.search(folded):
        return CREDITOR_SIDE
    if _SCAM.search(folded) and not _LOAN.search(folded):
        return SCAM_OTHER
    if _DISPUTE.search(folded) and not _DEBT.search(folded):
        return OTHER_LEGAL
    return None


# --- courtesy before the question ------------------------------------------------------------------------------
# "你好，请问催收打给我妈合法吗", "谢谢你。另外投诉信怎么写", "thanks! also can they call my boss?": the greeting
# or thanks in front carries no topic, yet it is a near copy of the greeting's or the thanks' examples and wins.
# `after_courtesy` gives what follows it, when that is a question of its own, for the knowledge base to match.

_COURTESY = lazy(
    r"^(?:[\s，,。.!！?？~～、:：;；…]"
    r"|(?:你好|您好|妳好|你哋好|哈[囉喽啰]|嗨|早上好|晚上好|下午好|在吗|在嗎|谢谢你?|謝謝你?|谢啦|多谢|多謝|唔该|唔該"
    r"|请问一下|請問一下|请问|請問|我?想问一?下|我?想問一?下|问一?下|問一?下|打扰了?|打擾了?|另外|还有|還有"
    r"|老师|老師|律师|律師)[呀啊哈哦喔呢吖啦]*"
    r"|(?:hi|hello|hey|thanks|thank you|thank u|thx|also|btw|by the way|and|ok|okay)\b)+",
    re.IGNORECASE,
)
_CJK = lazy(r"[\u3400-\u9fff]")
_WORD = lazy(r"[A-Za-z]+")


def after_courtesy(text: str) -> str | None:
    """What follows a leading greeting, thanks or "may I ask", if it is long enough to be a question of its own
    (four Chinese characters, or three English words); None when there is no such courtesy or nothing after it."""
    found = _COURTESY.match(text)
    if found is None or not found.group().strip(" ，,。.!！?？~～、:：;；…"):
        return None
    rest = text[found.end() :].strip()
    if len(_CJK.findall(rest)) >= 4 or len(_WORD.findall(rest)) >= 3:
        return rest
    return None
