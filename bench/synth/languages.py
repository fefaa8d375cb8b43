"""Wire reports in other languages, and their republication by invented outlets (``dedup synth --languages``).

The report texts below were written for this project (invented events, places and people); they
are not taken from any source. Each language has a few reports of several paragraphs, a wire
dateline in that language's agency style, and invented outlets with their own chrome (menus,
sign-offs, "read more" lines in that language).

``language_records`` republishes each report the way ``bench/synth/corpus.py`` does for English:
the wire original, copies with chrome, truncated copies (the first paragraphs), copies with a
paragraph dropped, copies with the dateline rewritten or removed, and a copy with a new headline.
Every copy of one report is one gold cluster (``lang-<code>-<n>``).
"""
from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

# language code -> list of (headline, dateline, paragraphs)
REPORTS: dict[str, list[tuple[str, str, list[str]]]] = {
    "zh": [
        ("北港货轮起火 船员全部获救", "新华社北港12月3日电", [
            "北港港务局3日表示，一艘停靠在北港东码头的散货船当天凌晨起火，大火燃烧近十一个小时后被扑灭，船上二十二名船员全部安全撤离，无人受伤。",
            "港务局发言人林晓东说，这艘名为“北光号”的货轮当时正在装载出口大麦，凌晨一点左右值班人员发现前舱冒出浓烟，随即报警。",
            "消防部门先后调派十四辆消防车和两艘消防船赶赴现场。由于船舱内堆满谷物，火势一度难以控制，消防人员不得不向舱内持续注水降温。",
            "港务局说，起火原因仍在调查之中，初步判断可能与舱内一台通风设备短路有关。受事故影响，东码头的装卸作业暂停，预计周五恢复。",
            "当地海事部门表示，事故没有造成燃油泄漏，附近海域水质监测结果正常。船东公司已派出工作组前往北港协助善后。",
            "北港是该省第二大港口，去年货物吞吐量超过一亿二千万吨，其中粮食出口约占百分之十五。",
        ]),
        ("央行宣布下调存款准备金率", "新华社南川12月3日电", [
            "中央银行3日宣布，自下周一起下调金融机构存款准备金率零点五个百分点，预计将释放长期资金约八千亿元。",
            "央行有关负责人在答记者问时表示，此次降准旨在保持流动性合理充裕，支持实体经济特别是小微企业融资，降低社会综合融资成本。",
            "这是今年以来央行第二次下调存款准备金率。分析人士认为，在外部需求放缓、国内消费恢复偏慢的背景下，货币政策仍有进一步宽松的空间。",
            "南川大学经济学院教授周敏说，降准释放的资金有助于缓解年末银行体系的资金压力，但对贷款利率的直接影响可能有限。",
            "消息公布后，股市三大指数午后震荡走高，银行和地产板块涨幅居前，十年期国债收益率小幅下行。",
        ]),
        ("山区暴雨引发泥石流 三个村庄受灾", "新华社西岭12月2日电", [
            "西岭县2日遭遇罕见强降雨，引发多处山体滑坡和泥石流，三个村庄受灾，一条县道和两座桥梁被冲毁，目前暂无人员死亡报告。",
            "县应急管理局说，从1日晚到2日中午，全县平均降雨量达到一百八十毫米，部分山区超过二百五十毫米，为有气象记录以来同期最多。",
            "救援人员已转移安置群众一千二百余人，临时安置点设在县城的两所中学，食品、饮用水和棉被等物资正在陆续运抵。",
            "电力部门表示，受灾地区约四千户居民停电，抢修队伍正在冒雨作业，预计3日晚前恢复大部分供电。",
            "气象部门预计未来三天仍有降雨，提醒山区群众远离河道和陡坡，防范次生灾害。",
        ]),
    ],
    "ja": [
        ("北浜港で貨物船火災　乗組員は全員無事", "【北浜共同】", [
            "北浜港湾局は3日、東埠頭に停泊中のばら積み貨物船で未明に火災が発生し、約11時間後に鎮火したと発表した。乗組員22人は全員避難し、けが人はいなかった。",
            "港湾局の広報担当者によると、貨物船「北光丸」は輸出用の大麦を積み込んでいる最中で、午前1時ごろ前方の船倉から煙が出ているのを当直の作業員が見つけて通報した。",
            "消防は消防車14台と消防艇2隻を出動させた。船倉には穀物が大量に積まれていたため消火は難航し、隊員は船倉内に水を注ぎ続けて温度を下げた。",
            "出火原因は調査中だが、港湾局は船倉の換気装置がショートした可能性があるとみている。東埠頭の荷役作業は中断され、金曜日に再開する見通しだ。",
            "海上保安部によると、燃料の流出は確認されておらず、周辺海域の水質にも異常はない。船主の会社は担当者を北浜に派遣した。",
        ]),
        ("中央銀行、政策金利を据え置き", "【東野共同】", [
            "中央銀行は3日の金融政策決定会合で、政策金利を現行の年0.5％に据え置くことを賛成多数で決めた。据え置きは3会合連続となる。",
            "総裁は記者会見で、物価の上昇率は目標の2％前後で推移しているものの、賃金の伸びが消費の回復に十分結びついていないと説明した。",
            "市場では年明けの利上げを予想する声もあったが、総裁は「海外経済の先行きには不確実性が大きい」と述べ、慎重な姿勢を崩さなかった。",
            "発表後、外国為替市場では円がやや売られ、株式市場では銀行株が下落した一方、不動産株は買われた。",
            "東野大学の佐藤真一教授は、次の利上げは春の賃金交渉の結果を見極めてからになるとの見方を示した。",
        ]),
    ],
    "th": [
        ("เรือสินค้าไฟไหม้ที่ท่าเรือบ้านนา ลูกเรือปลอดภัยทั้งหมด", "บ้านนา 3 ธ.ค. (สำนักข่าวไทย) -", [
            "การท่าเรือบ้านนาแถลงเมื่อวันที่ 3 ธันวาคมว่า เกิดเหตุไฟไหม้บนเรือบรรทุกสินค้าเทกองที่จอดอยู่ที่ท่าเทียบเรือฝั่งตะวันออกตั้งแต่ช่วงเช้ามืด เจ้าหน้าที่ใช้เวลาเกือบสิบเอ็ดชั่วโมงจึงควบคุมเพลิงได้ ลูกเรือทั้งยี่สิบสองคนอพยพออกมาได้อย่างปลอดภัย",
            "โฆษกการท่าเรือกล่าวว่า เรือลำดังกล่าวกำลังบรรทุกข้าวบาร์เลย์เพื่อส่งออก เจ้าหน้าที่เวรพบควันพวยพุ่งออกมาจากระวางหน้าเมื่อเวลาประมาณตีหนึ่งและแจ้งเหตุทันที",
            "หน่วยดับเพลิงส่งรถดับเพลิงสิบสี่คันและเรือดับเพลิงสองลำเข้าระงับเหตุ เนื่องจากในระวางมีธัญพืชจำนวนมาก การดับไฟจึงเป็นไปด้วยความยากลำบาก เจ้าหน้าที่ต้องฉีดน้ำเข้าไปในระวางอย่างต่อเนื่องเพื่อลดอุณหภูมิ",
            "สาเหตุของเพลิงไหม้ยังอยู่ระหว่างการสอบสวน แต่การท่าเรือสันนิษฐานว่าอาจเกิดจากไฟฟ้าลัดวงจรในระบบระบายอากาศ การขนถ่ายสินค้าที่ท่าฝั่งตะวันออกถูกระงับชั่วคราวและคาดว่าจะกลับมาดำเนินการได้ในวันศุกร์",
            "เจ้าหน้าที่กรมเจ้าท่ายืนยันว่าไม่พบการรั่วไหลของน้ำมันเชื้อเพลิง และผลการตรวจคุณภาพน้ำทะเลบริเวณใกล้เคียงอยู่ในเกณฑ์ปกติ",
        ]),
        ("ธนาคารกลางคงอัตราดอกเบี้ยนโยบาย", "เชียงทอง 3 ธ.ค. (สำนักข่าวไทย) -", [
            "คณะกรรมการนโยบายการเงินของธนาคารกลางมีมติเอกฉันท์ให้คงอัตราดอกเบี้ยนโยบายไว้ที่ร้อยละสองจุดห้า ในการประชุมเมื่อวันพุธ นับเป็นการคงอัตราดอกเบี้ยติดต่อกันเป็นครั้งที่สี่",
            "เลขานุการคณะกรรมการกล่าวว่า เศรษฐกิจยังคงฟื้นตัวอย่างค่อยเป็นค่อยไป โดยได้แรงหนุนจากการท่องเที่ยวและการบริโภคภาคเอกชน ขณะที่การส่งออกยังได้รับผลกระทบจากความต้องการในตลาดโลกที่ชะลอตัว",
            "อัตราเงินเฟ้อทั่วไปในเดือนที่ผ่านมาอยู่ที่ร้อยละหนึ่งจุดสอง ซึ่งอยู่ในกรอบเป้าหมายของธนาคารกลาง คณะกรรมการจึงเห็นว่านโยบายการเงินในปัจจุบันยังเหมาะสม",
            "นักวิเคราะห์จากมหาวิทยาลัยเชียงทองระบุว่า ธนาคารกลางน่าจะรอดูทิศทางเศรษฐกิจโลกในไตรมาสแรกของปีหน้าก่อนตัดสินใจปรับนโยบาย",
        ]),
    ],
    "ar": [
        ("حريق في سفينة شحن بميناء الشاطئ الشمالي وإنقاذ طاقمها", "الشاطئ الشمالي (رويترز) -", [
            "قالت سلطة ميناء الشاطئ الشمالي يوم الثلاثاء إن حريقا اندلع فجرا على متن سفينة شحن راسية في الرصيف الشرقي، وإن رجال الإطفاء سيطروا عليه بعد نحو إحدى عشرة ساعة، مشيرة إلى أن أفراد الطاقم الاثنين والعشرين لم يصب أي منهم بأذى.",
            "وأوضح متحدث باسم سلطة الميناء أن السفينة كانت تحمل شحنة من الشعير معدة للتصدير عندما لاحظ عامل المناوبة دخانا يتصاعد من العنبر الأمامي قرابة الساعة الواحدة بعد منتصف الليل.",
            "ودفعت فرق الدفاع المدني بأربع عشرة سيارة إطفاء وقاربي إطفاء إلى الموقع، وواجهت صعوبة كبيرة في إخماد النيران بسبب كميات الحبوب المكدسة داخل العنابر.",
            "وأضاف المتحدث أن سبب الحريق لا يزال قيد التحقيق، وأن التقديرات الأولية تشير إلى ماس كهربائي في أحد أجهزة التهوية، وأن أعمال الشحن والتفريغ في الرصيف الشرقي ستستأنف يوم الجمعة.",
            "وأكدت هيئة السلامة البحرية أنه لم يتم رصد أي تسرب للوقود، وأن نتائج فحص المياه في المنطقة المحيطة جاءت طبيعية.",
        ]),
        ("البنك المركزي يبقي أسعار الفائدة دون تغيير", "الواحة (رويترز) -", [
            "أبقى البنك المركزي يوم الأربعاء سعر الفائدة الرئيسي دون تغيير عند خمسة ونصف بالمئة للاجتماع الثالث على التوالي، في خطوة جاءت متوافقة مع توقعات معظم المحللين.",
            "وقال محافظ البنك في مؤتمر صحفي إن معدل التضخم تراجع إلى أربعة فاصل اثنين بالمئة الشهر الماضي، لكنه لا يزال أعلى من المستوى المستهدف، مما يستدعي الإبقاء على السياسة النقدية المتشددة لفترة أطول.",
            "وأضاف أن نمو القطاع غير النفطي ظل قويا خلال الربع الثالث بدعم من قطاعي السياحة والبناء، في حين تأثرت الصادرات بتباطؤ الطلب العالمي.",
            "وقال خبير اقتصادي في جامعة الواحة إن البنك قد يبدأ في خفض الفائدة في منتصف العام المقبل إذا واصل التضخم تراجعه.",
        ]),
    ],
    "hi": [
        ("उत्तरपुर बंदरगाह पर मालवाहक जहाज में आग, सभी चालक दल सुरक्षित", "उत्तरपुर, 3 दिसंबर (भाषा)", [
            "उत्तरपुर बंदरगाह प्राधिकरण ने मंगलवार को बताया कि पूर्वी घाट पर खड़े एक मालवाहक जहाज में तड़के आग लग गई, जिसे लगभग ग्यारह घंटे बाद काबू में किया जा सका। जहाज पर सवार सभी बाईस चालक दल सदस्य सुरक्षित निकाल लिए गए।",
            "प्राधिकरण के प्रवक्ता ने कहा कि जहाज पर निर्यात के लिए जौ लादा जा रहा था, तभी रात करीब एक बजे ड्यूटी पर तैनात कर्मचारी ने आगे के गोदाम से धुआं उठता देखा और तुरंत सूचना दी।",
            "दमकल विभाग ने चौदह दमकल गाड़ियां और दो अग्निशमन नौकाएं मौके पर भेजीं। गोदाम में भारी मात्रा में अनाज भरा होने के कारण आग बुझाने में काफी मुश्किल हुई और कर्मियों को लगातार पानी डालना पड़ा।",
            "आग लगने के कारणों की जांच की जा रही है, लेकिन शुरुआती अनुमान के मुताबिक वेंटिलेशन उपकरण में शॉर्ट सर्किट से आग लगी हो सकती है। पूर्वी घाट पर माल की लदाई और उतराई का काम शुक्रवार से फिर शुरू होने की उम्मीद है।",
            "समुद्री सुरक्षा विभाग ने कहा कि ईंधन के रिसाव का कोई संकेत नहीं मिला है और आसपास के पानी की जांच के नतीजे सामान्य हैं।",
        ]),
        ("केंद्रीय बैंक ने ब्याज दरों में कोई बदलाव नहीं किया", "नई दिल्ली, 3 दिसंबर (भाषा)", [
            "केंद्रीय बैंक की मौद्रिक नीति समिति ने बुधवार को प्रमुख नीतिगत दर को साढ़े छह प्रतिशत पर बरकरार रखने का फैसला किया। यह लगातार चौथी बैठक है जिसमें दरों में कोई बदलाव नहीं किया गया।",
            "गवर्नर ने संवाददाताओं से कहा कि खुदरा महंगाई पिछले महीने घटकर चार दशमलव आठ प्रतिशत पर आ गई, लेकिन खाद्य पदार्थों की कीमतों को लेकर अनिश्चितता अभी बनी हुई है।",
            "उन्होंने कहा कि चालू वित्त वर्ष में आर्थिक वृद्धि दर का अनुमान सात प्रतिशत पर कायम रखा गया है, क्योंकि ग्रामीण मांग में सुधार के संकेत मिल रहे हैं।",
            "बैंकिंग विशेषज्ञों का मानना है कि अगले वर्ष की पहली छमाही में ब्याज दरों में कटौती की गुंजाइश बन सकती है, बशर्ते मानसून सामान्य रहे।",
        ]),
    ],
    "ru": [
        ("В порту Северного пожар на сухогрузе, экипаж спасён", "СЕВЕРНЫЙ, 3 декабря (ТАСС) -", [
            "Во вторник на сухогрузе, стоявшем у восточного причала порта Северный, ночью вспыхнул пожар, который удалось потушить лишь спустя почти одиннадцать часов, сообщила администрация порта. Все двадцать два члена экипажа эвакуированы, пострадавших нет.",
            "По словам представителя администрации, судно загружали ячменём на экспорт, когда около часа ночи дежурный заметил дым, поднимавшийся из носового трюма, и сразу вызвал пожарных.",
            "К месту происшествия направили четырнадцать пожарных машин и два пожарных катера. Тушение осложнялось тем, что трюм был заполнен зерном, и пожарным пришлось непрерывно заливать его водой.",
            "Причины пожара устанавливаются, однако по предварительной версии могло произойти короткое замыкание в вентиляционной установке. Погрузочные работы у восточного причала приостановлены и, как ожидается, возобновятся в пятницу.",
            "В морской инспекции отметили, что утечки топлива не обнаружено, а пробы воды в акватории порта соответствуют норме.",
        ]),
        ("Центробанк сохранил ключевую ставку", "МОСКВА, 3 декабря (ТАСС) -", [
            "Совет директоров центрального банка в среду сохранил ключевую ставку на уровне семи с половиной процентов годовых, сообщил регулятор. Решение совпало с ожиданиями большинства аналитиков.",
            "Глава центробанка на пресс-конференции заявила, что годовая инфляция в ноябре замедлилась до пяти и одной десятой процента, однако инфляционные ожидания населения остаются повышенными.",
            "По её словам, рост кредитования замедляется, а потребительский спрос постепенно возвращается к нормальным темпам, что позволяет рассчитывать на дальнейшее снижение инфляции в первом полугодии.",
            "Экономисты ожидают, что регулятор может начать снижение ставки весной, если внешние условия не ухудшатся.",
        ]),
    ],
    "fr": [
        ("Incendie à bord d'un cargo dans le port de Brevance, l'équipage sain et sauf", "BREVANCE (AFP) -", [
            "Un incendie s'est déclaré dans la nuit de lundi à mardi à bord d'un vraquier amarré au quai est du port de Brevance, et il a fallu près de onze heures aux pompiers pour en venir à bout, a annoncé l'autorité portuaire. Les vingt-deux membres d'équipage ont été évacués sans blessure.",
            "Selon un porte-parole du port, le navire chargeait de l'orge destinée à l'exportation lorsqu'un agent de quart a aperçu de la fumée s'échappant de la cale avant, vers une heure du matin.",
            "Quatorze camions de pompiers et deux bateaux-pompes ont été dépêchés sur place. La cale étant remplie de céréales, les pompiers ont dû l'arroser sans relâche pour faire baisser la température.",
            "L'origine du sinistre reste à déterminer, mais la piste d'un court-circuit dans un ventilateur est privilégiée. Les opérations de chargement au quai est sont suspendues et devraient reprendre vendredi.",
            "Les affaires maritimes ont indiqué qu'aucune fuite de carburant n'avait été constatée et que les analyses de l'eau du bassin étaient normales.",
        ]),
        ("La banque centrale maintient ses taux directeurs", "PARIS (AFP) -", [
            "La banque centrale a maintenu mercredi son principal taux directeur à 3,25 %, pour la troisième réunion consécutive, une décision largement attendue par les marchés.",
            "Lors de sa conférence de presse, la gouverneure a souligné que l'inflation avait reculé à 2,4 % sur un an en novembre, mais que la hausse des prix des services restait trop soutenue pour envisager une baisse rapide des taux.",
            "Elle a également revu en légère baisse sa prévision de croissance pour l'an prochain, à 0,9 %, en raison de la faiblesse de la demande extérieure et du ralentissement de l'investissement des entreprises.",
            "Plusieurs économistes estiment désormais qu'un premier assouplissement pourrait intervenir au printemps, si le recul de l'inflation se confirme.",
        ]),
    ],
    "es": [
        ("Incendio en un carguero en el puerto de Valdemar, la tripulación a salvo", "VALDEMAR, 3 dic (EFE).-", [
            "Un incendio declarado de madrugada en un buque granelero atracado en el muelle este del puerto de Valdemar fue controlado tras casi once horas de trabajos, informó este martes la autoridad portuaria. Los veintidós tripulantes fueron evacuados sin heridos.",
            "Según un portavoz del puerto, el barco estaba cargando cebada para la exportación cuando, hacia la una de la madrugada, un vigilante de guardia vio salir humo de la bodega de proa y dio la alarma.",
            "Los bomberos enviaron catorce camiones y dos embarcaciones contra incendios. Como la bodega estaba llena de grano, la extinción fue complicada y los efectivos tuvieron que inyectar agua de forma continua para bajar la temperatura.",
            "Las causas del fuego se investigan, aunque la hipótesis inicial apunta a un cortocircuito en un equipo de ventilación. Las operaciones de carga en el muelle este están suspendidas y se reanudarán previsiblemente el viernes.",
            "Capitanía Marítima aseguró que no se ha detectado ningún vertido de combustible y que los análisis del agua en la zona son normales.",
        ]),
        ("El banco central mantiene los tipos de interés", "MADRID, 3 dic (EFE).-", [
            "El banco central mantuvo este miércoles su tipo de interés de referencia en el 4 %, por tercera reunión consecutiva, en una decisión que coincidió con lo previsto por la mayoría de los analistas.",
            "El gobernador explicó en rueda de prensa que la inflación se moderó en noviembre hasta el 2,9 % interanual, aunque los precios de los servicios siguen subiendo a un ritmo elevado.",
            "La entidad rebajó además su previsión de crecimiento para el próximo año hasta el 1,6 %, debido a la debilidad de la demanda exterior y al encarecimiento de la financiación de las empresas.",
            "Los expertos consultados consideran que la primera bajada de tipos podría llegar a mediados del año próximo si la inflación continúa su descenso.",
        ]),
    ],
    "de": [
        ("Brand auf Frachter im Hafen von Nordhafen – Besatzung unverletzt", "NORDHAFEN (dpa) -", [
            "Auf einem Massengutfrachter am Ostkai des Hafens von Nordhafen ist in der Nacht zum Dienstag ein Feuer ausgebrochen, das die Feuerwehr erst nach fast elf Stunden unter Kontrolle brachte. Alle zweiundzwanzig Besatzungsmitglieder konnten das Schiff unverletzt verlassen, wie die Hafenbehörde mitteilte.",
            "Nach Angaben eines Sprechers der Hafenbehörde wurde der Frachter gerade mit Gerste für den Export beladen, als ein Wachmann gegen ein Uhr nachts Rauch aus dem vorderen Laderaum aufsteigen sah und Alarm schlug.",
            "Die Feuerwehr rückte mit vierzehn Löschfahrzeugen und zwei Löschbooten an. Weil der Laderaum voller Getreide war, gestalteten sich die Löscharbeiten schwierig, die Einsatzkräfte mussten ununterbrochen Wasser in den Raum pumpen.",
            "Die Brandursache ist noch unklar, vermutet wird jedoch ein Kurzschluss in einer Lüftungsanlage. Der Umschlag am Ostkai ruht, er soll am Freitag wieder aufgenommen werden.",
            "Die Wasserschutzpolizei teilte mit, es sei kein Treibstoff ausgelaufen, Wasserproben aus dem Hafenbecken seien unauffällig.",
        ]),
        ("Zentralbank lässt Leitzins unverändert", "BERLIN (dpa) -", [
            "Die Zentralbank hat ihren Leitzins am Mittwoch zum dritten Mal in Folge bei 3,5 Prozent belassen. Die Entscheidung entsprach den Erwartungen der meisten Volkswirte.",
            "Die Notenbankchefin sagte auf einer Pressekonferenz, die Inflationsrate sei im November auf 2,3 Prozent gesunken, die Preise für Dienstleistungen stiegen jedoch weiterhin kräftig.",
            "Für das kommende Jahr senkte die Zentralbank ihre Wachstumsprognose auf 0,7 Prozent. Als Gründe nannte sie die schwache Nachfrage aus dem Ausland und die Zurückhaltung der Unternehmen bei Investitionen.",
            "Ökonomen rechnen inzwischen mit einer ersten Zinssenkung im Frühjahr, sofern sich der Rückgang der Teuerung fortsetzt.",
        ]),
    ],
}

# Per language: a few invented outlets, each with chrome lines above and below the story.
OUTLETS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "zh": [("北港日报", ["首页 | 国内 | 国际 | 财经 | 体育", "北港日报客户端"], ["责任编辑：王丽", "更多精彩内容请关注北港日报微信公众号"]),
           ("东方快讯网", ["东方快讯网 > 新闻中心 > 滚动新闻"], ["（来源：东方快讯网）", "相关阅读：年终经济数据陆续公布"])],
    "ja": [("北浜新報", ["ホーム | 社会 | 経済 | 国際 | スポーツ"], ["この記事を共有する", "関連記事：港湾の安全対策を強化へ"]),
           ("東野ニュース", ["東野ニュース　ニュース一覧"], ["（東野ニュース編集部）", "最新のニュースはアプリで"])],
    "th": [("ข่าวบ้านนา", ["หน้าแรก | ข่าวในประเทศ | เศรษฐกิจ | กีฬา"], ["แชร์ข่าวนี้", "อ่านข่าวที่เกี่ยวข้อง"]),
           ("สยามรายวันออนไลน์", ["สยามรายวันออนไลน์ ข่าวล่าสุด"], ["ติดตามข่าวสารได้ทางแอปพลิเคชัน"])],
    "ar": [("صحيفة الشاطئ", ["الرئيسية | محليات | اقتصاد | رياضة"], ["شارك هذا الخبر", "اقرأ أيضا: ارتفاع صادرات الحبوب"]),
           ("بوابة الواحة", ["بوابة الواحة الإخبارية - آخر الأخبار"], ["تابعونا على تطبيق بوابة الواحة"])],
    "hi": [("उत्तर समाचार", ["होम | देश | विदेश | कारोबार | खेल"], ["इस खबर को साझा करें", "यह भी पढ़ें: बंदरगाहों की सुरक्षा पर बैठक"]),
           ("जनवाणी डिजिटल", ["जनवाणी डिजिटल ताज़ा खबरें"], ["ताज़ा खबरों के लिए हमारा ऐप डाउनलोड करें"])],
    "ru": [("Северный вестник", ["Главная | Общество | Экономика | Спорт"], ["Поделиться новостью", "Читайте также: итоги навигации"]),
           ("Новости Приморья", ["Новости Приморья — лента новостей"], ["Подписывайтесь на наш канал"])],
    "fr": [("Le Courrier de Brevance", ["Accueil | Actualités | Économie | Sports"], ["Partager cet article", "Lire aussi : le trafic portuaire en hausse"]),
           ("Info Ouest", ["Info Ouest - Toute l'actualité"], ["Abonnez-vous à notre lettre d'information"])],
    "es": [("Diario de Valdemar", ["Portada | Nacional | Economía | Deportes"], ["Compartir esta noticia", "Lea también: récord de exportaciones de grano"]),
           ("Noticias del Sur", ["Noticias del Sur - Última hora"], ["Síguenos en nuestras redes sociales"])],
    "de": [("Nordhafener Zeitung", ["Startseite | Politik | Wirtschaft | Sport"], ["Artikel teilen", "Lesen Sie auch: Hafen meldet Rekordumschlag"]),
           ("Nachrichten Nord", ["Nachrichten Nord – Alle Meldungen"], ["Folgen Sie uns in den sozialen Netzwerken"])],
}

LANGUAGES = tuple(REPORTS)


@dataclass
class LangRecord:
    """One republished copy: the JSONL record, its gold cluster, and the chrome lines it carries."""

    record: dict
    gold: str
    language: str
    chrome: list[str]
    edits: str


def _copies(lang: str, headline: str, dateline: str, paras: list[str], rng: random.Random):
    """(outlet, headline, body paragraphs, chrome top, chrome bottom, edits) of each copy of one report."""
    joiner = "" if lang in ("zh", "ja") else " "
    lead = dateline + joiner + paras[0]
    full = [lead] + paras[1:]
    outs = OUTLETS[lang]
    yield "wire", headline, full, [], [], "original"
    for i, (name, top, bottom) in enumerate(outs):
        yield name, headline, full, top, bottom, "chrome"
        # truncated: the first 2 or 3 paragraphs
        cut = rng.choice([2, 3])
        yield name, headline, full[:cut], top, bottom, f"chrome,truncated{cut}"
    name, top, bottom = outs[0]
    drop = rng.randrange(1, len(full) - 1)
    yield name, headline, [p for j, p in enumerate(full) if j != drop], top, bottom, f"chrome,dropped{drop}"
    # dateline rewritten: without it (the outlet's own style)
    name, top, bottom = outs[-1]
    yield name, headline, [paras[0]] + paras[1:], top, bottom, "chrome,no_dateline"
    yield name, headline + ("！" if lang in ("zh", "ja") else " !"), full[:3], [], [], "new_headline,truncated3"


def language_records(start: str = "1987-03-03T06:00:00Z", seed: int = 0, languages=LANGUAGES) -> list[LangRecord]:
    """Every copy of every report of ``languages`` as records (id, outlet, url, headline,
    published_at, body), with gold cluster ``lang-<code>-<report>``. Deterministic in ``seed``."""
    rng = random.Random(seed)
    out: list[LangRecord] = []
    for lang in languages:
        for k, (headline, dateline, paras) in enumerate(REPORTS[lang]):
            for j, (outlet, head, body, top, bottom, edits) in enumerate(_copies(lang, headline, dateline, paras, rng)):
                sid = f"{lang}-{k}-{j}"
                slug = "".join(ch for ch in outlet.lower() if ch.isascii() and ch.isalnum()) or f"outlet{zlib.crc32(outlet.encode()) % 997}"
                rec = {"id": sid, "outlet": outlet, "url": f"https://{lang}.example.net/{slug}/{sid}",
                       "headline": head, "published_at": start[:11] + f"{6 + j % 12:02d}:{(7 * k) % 60:02d}:00Z",
                       "body": "\n".join(top + body + bottom)}
                out.append(LangRecord(rec, f"lang-{lang}-{k}", lang, top + bottom, edits))
    return out
