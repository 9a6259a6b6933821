"""The district's shape: streets and towns, functional areas, departments and
the category tree, with the seed document's names first."""
from __future__ import annotations

DISTRICT = "即墨区"

#: (name, urban?) — the six streets of the seed with full-time grid workers
#: come first; their communities are urban (58 in all), the rest mostly villages.
STREETS: list[tuple[str, bool]] = [
    ("潮海街道", True), ("通济街道", True), ("环秀街道", True), ("北安街道", True),
    ("龙山街道", True), ("通济新区", True), ("大信街道", False), ("龙泉街道", False),
    ("鳌山卫街道", False), ("温泉街道", False), ("蓝村街道", False), ("灵山镇", False),
    ("段泊岚镇", False), ("移风店镇", False), ("田横镇", False), ("金口镇", False),
]
URBAN_COMMUNITIES = 58
FULL_TIME_WORKERS = 514
BASIC_GRIDS = 2287
FUNCTIONAL_GRIDS = 19
PROFESSIONAL_GRIDS = 563

#: Communities the seed names, placed in their streets.
NAMED_COMMUNITIES = {"潮海街道": ["古城社区"], "龙山街道": ["葛村新村"], "段泊岚镇": ["毛家岭村"]}

ZONES = ["青岛蓝谷", "即墨经济开发区", "汽车产业新城", "青岛国际博览中心", "即墨古城景区"]

#: (code, name, weight of professional grids)
DEPARTMENTS = [
    ("zhzf", "区综合行政执法局", 8), ("gaj", "区公安分局", 10), ("zjj", "区住房城乡建设局", 5),
    ("scj", "区市场监管局", 6), ("sthj", "区生态环境分局", 4), ("yjj", "区应急管理局", 5),
    ("wjj", "区卫生健康局", 4), ("jtj", "区交通运输局", 3), ("slj", "区水利局", 3),
    ("rsj", "区人力资源社会保障局", 2), ("jtj2", "区教育和体育局", 2), ("mzj", "区民政局", 2),
    ("zrj", "区自然资源局", 2), ("nyj", "区农业农村局", 2), ("xfj", "区信访局", 1),
]

URBAN_PREFIXES = list("鹤山蓝鳌文峰墨河龙泉振华嵩山烟青天山华山潍坊银河宝龙城南城北东城西城")
VILLAGE_SYLLABLES = list("东西南北前后大小王李张刘孙马杨高石河山庄岭沟泉店埠屯营官家")
ESTATES = ["文富居", "发福馨苑", "隆福名居", "鹤山花园", "墨河嘉园", "蓝鳌小区", "东方鼎鼎小区",
           "振华公寓", "宝龙城市广场", "嵩山苑", "天山家园", "银河丽苑", "华山新村", "龙泉花园"]

#: Category tree: (top, [(code, leaf, weight, urgency, route, route_dept, content templates)]).
#: route: "area" — the community of the place; "department"; "station" — the street's police station.
CATEGORIES = [
    ("安全生产", [
        ("aq_xf", "消防隐患", 40, "urgent", "area", None,
         ["{place}楼道堆放杂物、电动车违规充电，存在消防隐患", "{place}消防通道被占用，消防设施损坏"]),
        ("aq_rq", "燃气安全", 18, "critical", "department", "yjj",
         ["{place}附近闻到燃气味，疑似燃气泄漏", "{place}餐饮店燃气管道老化"]),
        ("aq_jz", "建筑施工安全", 15, "urgent", "department", "zjj",
         ["{place}工地未设围挡，高空作业无防护", "{place}施工夜间超时作业"]),
    ]),
    ("治安维稳", [
        ("za_zs", "治安隐患", 40, "urgent", "station", None,
         ["{place}有可疑人员聚集", "{place}夜间有人打架斗殴"]),
        ("za_zy", "噪音扰民", 30, "normal", "station", None,
         ["{place}夜间噪音扰民，影响休息", "{place}广场舞音响声音过大"]),
        ("za_mdjf", "矛盾纠纷", 25, "normal", "area", None,
         ["{place}邻里因漏水问题发生纠纷", "{place}业主与物业因收费产生矛盾"]),
    ]),
    ("文明城市创建", [
        ("wm_zdjy", "占道经营", 45, "normal", "department", "zhzf",
         ["{place}门口占道经营烧烤，堆放啤酒瓶纸箱", "{place}流动摊贩占道经营"]),
        ("wm_ggp", "户外广告", 15, "normal", "department", "zhzf",
         ["{place}户外广告破损，存在坠落风险", "{place}小广告乱贴乱画清理不干净"]),
        ("wm_hjws", "环境卫生", 60, "normal", "area", None,
         ["{place}绿化带内堆积杂物垃圾", "{place}垃圾桶满溢无人清运", "{place}楼道卫生脏乱差，物业很少打扫"]),
        ("wm_ltt", "乱堆乱放", 30, "normal", "area", None,
         ["{place}乱堆乱放杂物", "{place}树枝杂物铺满草坪"]),
    ]),
    ("疫情防控", [
        ("yq_hs", "核酸检测", 20, "normal", "area", None,
         ["{place}居民咨询核酸检测点位", "{place}需要上门核酸检测"]),
        ("yq_gk", "人员管控", 12, "urgent", "department", "wjj",
         ["{place}有外地返回人员未报备", "{place}封控期间居民出入需协助"]),
    ]),
    ("帮办服务", [
        ("bb_sb", "社保医保", 35, "normal", "department", "rsj",
         ["{place}老人咨询医保报销办理", "{place}居民社保缴费遇到问题"]),
        ("bb_mz", "困难救助", 25, "normal", "department", "mzj",
         ["{place}独居老人需要帮扶", "{place}困难家庭申请临时救助"]),
        ("bb_dbfw", "代办服务", 40, "normal", "area", None,
         ["{place}居民需代办证明材料", "{place}行动不便老人需上门代办业务"]),
    ]),
    ("城市管理", [
        ("cg_dl", "道路破损", 20, "normal", "department", "jtj",
         ["{place}路面塌陷坑洼", "{place}人行道地砖破损"]),
        ("cg_ld", "路灯照明", 15, "normal", "area", None,
         ["{place}路灯不亮", "{place}小区照明设施损坏"]),
        ("cg_wy", "物业管理", 30, "normal", "department", "zjj",
         ["{place}物业服务不到位", "{place}电梯经常故障物业不维修"]),
        ("cg_hb", "环境污染", 15, "normal", "department", "sthj",
         ["{place}企业排放异味", "{place}河道有污水排放"]),
        ("cg_sc", "食品市场", 12, "normal", "department", "scj",
         ["{place}商户销售过期食品", "{place}农贸市场秩序混乱"]),
    ]),
    ("防汛", [
        ("fx_dm", "倒伏树木", 6, "urgent", "department", "zhzf",
         ["{place}树枝被折断横在道路中央", "{place}大树倒伏压住车辆"]),
        ("fx_ps", "排水堵塞", 6, "urgent", "department", "slj",
         ["{place}下水口被树叶垃圾堵塞，路面积水", "{place}雨水井堵塞积水严重"]),
        ("fx_dt", "电梯困人", 3, "critical", "department", "yjj",
         ["{place}暴雨停电，居民被困电梯", "{place}电梯故障有人被困"]),
        ("fx_nl", "地下室内涝", 4, "critical", "area", None,
         ["{place}地下停车场内涝", "{place}地下室进水，需沙袋"]),
    ]),
]
FLOOD_CODES = {"fx_dm", "fx_ps", "fx_dt", "fx_nl"}

#: channel -> share of cases
CHANNELS = {"grid_app": 52, "hotline": 27, "city_mgmt": 8, "town_call": 4, "help": 5,
            "petition": 2, "opinion": 2}
