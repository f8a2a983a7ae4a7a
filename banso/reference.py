"""Fixed reference lists of the programme (seed 002): the 26 issue fields, prefectures and
their region blocks (seed 000 ⑤), population bands (seed 000 ⑥), and the ministry names a
municipality may not ask for (APP-9)."""
from __future__ import annotations

import re
import unicodedata

# 課題分野 (APP-7): number → name, in the guidelines' order.
FIELDS: dict[int, str] = {
    1: "地方創生全般", 2: "人口減少", 3: "観光", 4: "産業振興", 5: "農林水産業",
    6: "まちづくり（関連インフラ整備含む）", 7: "地域交通", 8: "環境", 9: "デジタル・未来技術",
    10: "移住・定住", 11: "広報・シティプロモーション", 12: "教育・文化", 13: "若者・女性活躍",
    14: "子育て支援", 15: "復興", 16: "防災", 17: "医療・福祉・健康", 18: "中心市街地活性化",
    19: "官民連携", 20: "人材確保", 21: "公共施設利活用", 22: "生活環境（食品アクセス・買い物困難者支援）",
    23: "関係人口の創出", 24: "国際関係（姉妹都市、海外販路開拓等）", 25: "多文化共生", 26: "その他",
}
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳㉑㉒㉓㉔㉕㉖"


def field_label(number: int | None) -> str:
    return "" if number is None else f"{CIRCLED[number - 1]}{FIELDS[number]}"


FIELD_SEPARATORS = "、,，/／;；\n"


def parse_field(text: str) -> tuple[int | None, str | None]:
    """One 課題分野 as people and Banso's own exports write it: 5, ５, ⑤, ⑤農林水産業, 5 農林水産業, 農林水産業, or a
    name without its parenthesis (国際関係). Returns (number, None) or (None, the reason in Japanese)."""
    raw = (text or "").strip()
    if raw and raw[0] in CIRCLED:  # before NFKC, which turns ⑤ into 5
        number, rest = CIRCLED.index(raw[0]) + 1, raw[1:]
    else:
        folded = unicodedata.normalize("NFKC", raw)
        match = re.match(r"^(\d{1,3})(?![\d])[\s.．、:：)）]*(.*)$", folded)
        number, rest = (int(match.group(1)), match.group(2)) if match else (None, folded)
    if number is None:
        number = _FIELD_BY_NAME.get(normalize_name(rest))
        if number is None:
            return None, f"「{raw}」は26の課題分野のいずれでもありません（番号 1〜26 か分野名で記入してください）。"
        return number, None
    if number not in FIELDS:
        return None, f"「{raw}」は課題分野の番号（1〜26）ではありません。"
    if rest.strip() and _FIELD_BY_NAME.get(normalize_name(rest)) != number:
        return None, f"「{raw}」の番号と分野名が一致しません（{number}は{field_label(number)}です）。"
    return number, None


def parse_fields(text: str) -> tuple[list[int], str | None]:
    """Several 課題分野 in one cell or field, separated by 、 , / ; or line breaks — but not inside a name's
    parenthesis (㉔国際関係（姉妹都市、海外販路開拓等）). Each once, in the order given."""
    parts, current, depth = [], "", 0
    for ch in text or "":
        depth += 1 if ch in "（(" else -1 if ch in "）)" and depth else 0
        if depth == 0 and ch in FIELD_SEPARATORS:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    numbers: list[int] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        number, problem = parse_field(part)
        if problem:
            return [], problem
        if number not in numbers:
            numbers.append(number)
    return numbers, None


REGION_BLOCKS: dict[str, list[str]] = {
    "北海道": ["北海道"],
    "東北": ["青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県"],
    "関東": ["茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県"],
    "中部": ["新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県", "愛知県"],
    "近畿": ["三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県"],
    "中国": ["鳥取県", "島根県", "岡山県", "広島県", "山口県"],
    "四国": ["徳島県", "香川県", "愛媛県", "高知県"],
    "九州・沖縄": ["福岡県", "佐賀県", "長崎県", "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県"],
}
PREFECTURES: list[str] = [p for block in REGION_BLOCKS.values() for p in block]  # JIS order
BLOCK_OF: dict[str, str] = {p: block for block, prefs in REGION_BLOCKS.items() for p in prefs}

# The seat of each prefectural government (latitude, longitude), for estimating travel from Tokyo (the matching
# assistant's expected travel cost: distance only, never a fare quoted to anyone).
PREFECTURE_SEATS: dict[str, tuple[float, float]] = {
    "北海道": (43.06, 141.35), "青森県": (40.82, 140.74), "岩手県": (39.70, 141.15), "宮城県": (38.27, 140.87),
    "秋田県": (39.72, 140.10), "山形県": (38.24, 140.36), "福島県": (37.75, 140.47), "茨城県": (36.34, 140.45),
    "栃木県": (36.57, 139.88), "群馬県": (36.39, 139.06), "埼玉県": (35.86, 139.65), "千葉県": (35.61, 140.12),
    "東京都": (35.69, 139.69), "神奈川県": (35.45, 139.64), "新潟県": (37.90, 139.02), "富山県": (36.70, 137.21),
    "石川県": (36.59, 136.63), "福井県": (36.07, 136.22), "山梨県": (35.66, 138.57), "長野県": (36.65, 138.18),
    "岐阜県": (35.39, 136.72), "静岡県": (34.98, 138.38), "愛知県": (35.18, 136.91), "三重県": (34.73, 136.51),
    "滋賀県": (35.00, 135.87), "京都府": (35.02, 135.76), "大阪府": (34.69, 135.52), "兵庫県": (34.69, 135.18),
    "奈良県": (34.69, 135.83), "和歌山県": (34.23, 135.17), "鳥取県": (35.50, 134.24), "島根県": (35.47, 133.05),
    "岡山県": (34.66, 133.93), "広島県": (34.40, 132.46), "山口県": (34.19, 131.47), "徳島県": (34.07, 134.56),
    "香川県": (34.34, 134.04), "愛媛県": (33.84, 132.77), "高知県": (33.56, 133.53), "福岡県": (33.61, 130.42),
    "佐賀県": (33.25, 130.30), "長崎県": (32.74, 129.87), "熊本県": (32.79, 130.74), "大分県": (33.24, 131.61),
    "宮崎県": (31.91, 131.42), "鹿児島県": (31.56, 130.56), "沖縄県": (26.21, 127.68),
}


def distance_km(a: str, b: str) -> float:
    """Great-circle distance between two prefectures' seats, in kilometres."""
    import math

    (lat1, lon1), (lat2, lon2) = (PREFECTURE_SEATS[a], PREFECTURE_SEATS[b])
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    cos = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371 * math.acos(max(-1.0, min(1.0, cos)))


# 人口規模 (seed 000 ⑥). Upper bounds exclusive.
POPULATION_LIMIT = 100_000
POPULATION_BANDS: dict[str, tuple[int, int | None]] = {
    "1万人未満": (0, 10_000),
    "1～3万人": (10_000, 30_000),
    "3～5万人": (30_000, 50_000),
    "5～10万人": (50_000, 100_000),
    "10万人以上": (100_000, None),
}


def population_band(population: int | None) -> str | None:
    if population is None:
        return None
    for label, (low, high) in POPULATION_BANDS.items():
        if population >= low and (high is None or population < high):
            return label
    return None


# Ministries and agencies named in a municipality's free text trigger an APP-9 warning.
MINISTRY_NAMES = [
    "内閣官房", "内閣府", "デジタル庁", "復興庁", "総務省", "法務省", "外務省", "財務省", "文部科学省",
    "厚生労働省", "農林水産省", "経済産業省", "国土交通省", "環境省", "防衛省", "警察庁", "金融庁",
    "消費者庁", "こども家庭庁", "公正取引委員会", "個人情報保護委員会", "出入国在留管理庁", "公安調査庁",
    "国税庁", "スポーツ庁", "文化庁", "林野庁", "水産庁", "資源エネルギー庁", "特許庁", "中小企業庁",
    "観光庁", "気象庁", "海上保安庁", "原子力規制委員会", "防衛装備庁", "国土地理院",
    "文科省", "厚労省", "農水省", "経産省", "国交省",
]


def check_digit(first_five: str) -> int:
    """全国地方公共団体コード: weights 6,5,4,3,2; (11 − sum mod 11) mod 10."""
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2)))
    return (11 - total % 11) % 10


def valid_code(code: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{6}", code)) and check_digit(code[:5]) == int(code[5])


_VARIANTS = str.maketrans({"ヶ": "ケ", "ヵ": "カ", "檮": "梼", "﨑": "崎", "髙": "高", "邉": "辺", "邊": "辺"})


def normalize_name(text: str) -> str:
    """Fold the spellings real input uses for one name: full/half width, ケ/ヶ, 檮/梼, spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.translate(_VARIANTS)
    return re.sub(r"\s+", "", text)


# 課題分野 by name, and by the name before its parenthesis (国際関係 for ㉔国際関係（姉妹都市、海外販路開拓等）).
_FIELD_BY_NAME = ({normalize_name(name.split("（")[0]): number for number, name in FIELDS.items()}
                  | {normalize_name(name): number for number, name in FIELDS.items()})


_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xFFE5: ord("¥"), 0x2212: ord("-")}


def typed(text) -> str:
    """Banso's one reading of a typed code, number, date or address, in every form and importer: full-width
    letters, digits and signs become half-width (１２３ → 123, ＠ → @, the ideographic space → a space), control
    characters go, the ends are trimmed. Unlike NFKC, ①, ² and other look-alikes are kept as they are, so they are
    refused as numbers rather than read as 1 or 2."""
    from banso.formatting import strip_control

    return strip_control(str(text if text is not None else "")).translate(_FULL_WIDTH).strip()


def has_fullwidth_digit(text: str) -> bool:
    return any("０" <= ch <= "９" for ch in text or "")


# 府省庁等 and their 外局 (OFF-1: officers come from the headquarters, 外局 included), in
# the order the government lists them. (name, parent or None).
MINISTRIES: list[tuple[str, str | None]] = [
    ("内閣官房", None), ("内閣法制局", None), ("人事院", None), ("内閣府", None), ("宮内庁", "内閣府"),
    ("公正取引委員会", "内閣府"), ("国家公安委員会", "内閣府"), ("警察庁", "内閣府"), ("個人情報保護委員会", "内閣府"),
    ("カジノ管理委員会", "内閣府"), ("金融庁", "内閣府"), ("消費者庁", "内閣府"), ("こども家庭庁", "内閣府"),
    ("デジタル庁", None), ("復興庁", None), ("総務省", None), ("公害等調整委員会", "総務省"), ("消防庁", "総務省"),
    ("法務省", None), ("出入国在留管理庁", "法務省"), ("公安調査庁", "法務省"), ("外務省", None), ("財務省", None),
    ("国税庁", "財務省"), ("文部科学省", None), ("スポーツ庁", "文部科学省"), ("文化庁", "文部科学省"),
    ("厚生労働省", None), ("中央労働委員会", "厚生労働省"), ("農林水産省", None), ("林野庁", "農林水産省"),
    ("水産庁", "農林水産省"), ("経済産業省", None), ("資源エネルギー庁", "経済産業省"), ("特許庁", "経済産業省"),
    ("中小企業庁", "経済産業省"), ("国土交通省", None), ("観光庁", "国土交通省"), ("気象庁", "国土交通省"),
    ("運輸安全委員会", "国土交通省"), ("海上保安庁", "国土交通省"), ("環境省", None), ("原子力規制委員会", "環境省"),
    ("防衛省", None), ("防衛装備庁", "防衛省"), ("会計検査院", None),
]
MINISTRY_ALIASES = {"国交省": "国土交通省", "経産省": "経済産業省", "文科省": "文部科学省", "厚労省": "厚生労働省",
                    "農水省": "農林水産省", "総務": "総務省", "財務": "財務省", "内閣官房（地域未来戦略本部事務局）": "内閣官房"}

# OFF-1: 指定職 down to 係長級 (行政職俸給表（一）3級相当). 係員 is listed so it can be refused with a reason.
GRADE_BANDS = ["指定職", "課長級", "室長級", "課長補佐級", "係長級"]
INELIGIBLE_GRADES = ["係員"]
JOB_TYPES = ["事務官", "技官"]
SEXES = ["男性", "女性", "回答しない"]
# OFF-2: where the officer works now.
WORKPLACES = ["本省", "外局", "地方支分部局", "地方公共団体（出向中）"]
ELIGIBLE_WORKPLACES = ["本省", "外局"]
OFFICER_TYPES = {"officer": "地方創生支援官", "secondee": "地方創生支援オフィサー"}
APPOINTMENT_POSTS = ["内閣官房地域未来戦略本部事務局", "内閣府地方創生推進室"]
AGE_BANDS = [("20代", 20, 30), ("30代", 30, 40), ("40代", 40, 50), ("50代以上", 50, 200)]


def to_hiragana(text: str) -> str:
    """Readings arrive in katakana or hiragana, full or half width: keep them in hiragana."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in text).strip()
