"""Vocabulary and patterns that prompt analysis counts. Pure data plus compiled regexes.

Word families are general-purpose topic vocabularies; each family feeds one domain with a weight
(see ``FAMILY_DOMAIN`` in analysis.py). Words are matched as lowercase tokens, with a plural
``s`` tried as a fallback.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FAMILIES: dict[str, frozenset[str]] = {
    "code_words": _words(
        """python javascript typescript java c++ c# rust golang kotlin swift php ruby perl scala
        sql html css json yaml xml api apis function variable array boolean loop
        recursion recursive algorithm code coding program programming programmer compile
        compiler debug debugging bug script database query regex git docker linux bash shell
        stack queue pointer runtime software implement implementation library framework syntax csv
        exception thread binary byte bit hash hashmap tuple lambda iterator subroutine procedure
        parameter execute executed execution server http endpoint frontend backend
        sort sorting sorted node linked memory cpu cache overflow null int float char void
        refactor repository github unittest pytest npm pip dataframe pandas numpy
        class struct enum interface inheritance polymorphism object-oriented boolean
        bytecode interpreter assembly opcode kernel os filesystem socket tcp ip url
        website webpage browser frontend react node.js django flask async await callback
        display repeat iteration iterate increment decrement initialize initialized
        element elements index indices substring hexadecimal pixel pixels digital data
        encryption encrypted cryptography password bitwise boolean nand xor gate gates
        computer computers computing programs developer developers version"""
    ),
    "math_words": _words(
        """calculate calculation compute computed solve equation equations integral derivative
        differentiate integrate probability prime theorem prove proof matrix matrices vector
        polynomial percent percentage ratio fraction remainder divisible multiply multiplied
        divide divided perimeter radius diameter triangle angle integer integers rational
        irrational logarithm exponent exponential factorial permutation permutations
        arithmetic geometric sequence infinity modulo mod gcd lcm quadratic
        inequality inequalities coefficient coefficients eigenvalue eigenvalues determinant
        subgroup homomorphism isomorphism cyclic abelian polynomials
        velocity acceleration joule joules newton newtons kg m/s momentum voltage ohm ohms
        capacitor capacitance inductor inductance wavelength amplitude mol moles molar
        molarity kinetic entropy enthalpy kelvin watts watt ampere amperes torque
        gravitational numerical simplify decimal digits digit sqrt slope intercept variance
        polygon hexagon pentagon octagon decagon diagonal diagonals interior exterior
        hypotenuse divisor divisors multiple multiples"""
    ),
    "quantity_words": _words(
        """how-many how-much total altogether remaining left each per every cost costs costing
        pay pays paid earn earns earned spend spends spent buy buys bought sell sells sold
        price dollars cents miles hours minutes days weeks months years pounds ounces inches
        feet gallons liters cups pieces times profit saves saved save sum product average mean
        median area volume circle root roots real limit series combination group ring field
        order dimension mass force energy charge resistance frequency temperature pressure
        current circuit value expression evaluate odd even twice triple double half quarter
        dozen minimum maximum number numbers"""
    ),
    "creative_words": _words(
        """poem poems poetry story stories fiction fictional character characters plot rhyme
        rhyming metaphor vivid imaginative creative creativity narrative protagonist dialogue
        lyrics humorous witty catchy engaging tone persuasive haiku limerick sonnet verse
        novel tale fable screenplay script slogan joke riddle blog post essay letter email
        speech toast tweet advertisement pitch captivating descriptive storytelling
        roleplay role-play pretend persona imagine sarcastic emotional audience
        compose composing draft drafting rewrite rephrase paraphrase proofread edit grammar
        grammatical paragraph headline sensory immersive"""
    ),
    "analysis_words": _words(
        """analyze analyse analysis analysing analyzing compare comparison contrast
        evaluate evaluation assess
        assessment critique examine discuss argue argument arguments justify infer inference
        deduce deduction identify extract summarize summarise classify categorize interpret
        interpretation implication implications pros cons advantages disadvantages tradeoff
        tradeoffs strengths weaknesses impact evidence reasoning conclusion conclusions premise
        premises fallacy fallacies valid invalid validity logic logical assumption assumptions
        perspective perspectives consequence consequences factors critically insight insights
        explain explanation why correlation cause causes effect effects outcome bias biases
        heuristic heuristics decision decisions reasoning conclude concludes concluded
        argues argued claim claims suppose supposing therefore hence contradiction reason reasons
        puzzle statement statements principle principles belong analytical drawback drawbacks
        downside downsides upside upsides worth lessons justified"""
    ),
    "law_words": _words(
        """law laws legal legally court courts judge jury statute statutes plaintiff defendant
        prosecution prosecutor liable liability contract contracts constitutional constitution
        amendment tort negligence negligent testimony trial appeal appellate convicted conviction
        crime criminal felony lawsuit sued sue jurisdiction treaty treaties rights landlord tenant
        lease mortgage deed estate breach damages injunction admissible hearsay attorney
        ordinance enforceable enforce suit claim claims defense offense guilty murder
        burglary robbery larceny homicide owner ownership conveyance grantor grantee buyer
        seller warranty lawful unlawful legislation legislature congress statutory federal"""
    ),
    "ethics_words": _words(
        """moral morality morally ethical ethics ethically ought virtue virtues utilitarian
        utilitarianism kant kantian justice unjust permissible impermissible duty duties
        wrongness rightness immoral dignity autonomy consequentialism deontology
        euthanasia abortion consent harm wrong"""
    ),
    "economics_words": _words(
        """economy economic economics economist inflation gdp monetary fiscal demand supply
        market markets unemployment interest tax taxes taxation consumer consumers producer
        producers elasticity marginal revenue firm firms monopoly oligopoly competition trade
        tariff tariffs aggregate investment reserve bank banks money deficit surplus recession
        growth output wage wages labor capital exports imports currency exchange subsidy
        equilibrium shortage curve curves policy fed business businesses management manager
        managers organization organizational leadership strategy employees employee company
        companies marketing stakeholders corporate organisation organisations organisational
        industry industries customers customer competitive entrepreneur entrepreneurship
        shareholders ceo"""
    ),
    "policy_words": _words(
        """government governments foreign nuclear war wars military security sovereignty
        international diplomacy diplomatic deterrence terrorism terrorist realism realist
        liberalism hegemony regime regimes alliance alliances strategic geopolitical nato
        united-nations cold conflict conflicts weapons state-building democracy democratic
        authoritarian president administration"""
    ),
    "knowledge_words": _words(
        """cell cells species organism organisms gene genes genetic dna rna protein proteins
        enzyme enzymes disease diseases patient patients symptom symptoms treatment clinical
        vitamin vitamins nutrient nutrients diet blood heart brain muscle bone infection
        virus bacteria history historical century ancient empire civilization archaeological
        geography country countries region population climate river continent culture
        cultural religion religious god buddhism hinduism islam christianity judaism sacred
        planet planets star stars galaxy solar sun moon earth universe telescope
        psychology psychologist behavior cognitive memory therapy disorder personality
        child children aging older adults development learning evolution fossil human humans
        health medical body"""
    ),
    # Unambiguous cues: words that name a domain's tools or forms and rarely mean anything
    # else in a prompt. One of them alone outweighs the general baseline (a prompt naming CSS
    # or a haiku is not a general question); many are also in their domain's family above.
    "code_strong": _words(
        """python javascript typescript c++ c# rust golang kotlin php perl scala sql html css
        json yaml regex git github gitlab docker dockerfile kubernetes kubectl k8s nginx npm
        pip webpack babel eslint postgres postgresql mysql sqlite mongodb redis kafka linux
        bash powershell api apis endpoint endpoints frontend backend vue svelte django flask
        fastapi spring-boot node.js nodejs express.js jvm compiler debug debugging refactor
        refactoring unittest pytest junit jest dataframe pandas numpy goroutine goroutines
        mutex deadlock segfault traceback stacktrace nullpointerexception runtime-error
        syntax-error div useeffect usestate async await callback callbacks decorator
        decorators struct enum hashmap iterator bytecode ide vscode vs-code jupyter repo
        rebase merge-conflict pull-request ci/cd devops microservice microservices serverless
        aws azure gcp terraform ansible dependency-injection big-o o(n) o(1) o(log o(n^2)
        virtualenv venv requirements.txt package.json localhost left-join inner-join
        outer-join primary-key foreign-key list-comprehension flutter dart swiftui xcode
        react-native jetpack-compose android-studio kubernetes kubectl nginx gunicorn"""
    ),
    "creative_strong": _words(
        """poem poems poetry haiku limerick sonnet lyrics verse rhyme rhyming slogan tagline
        jingle fairy-tale bedtime-story short-story fable screenplay monologue toast caption
        riddle joke jokes rap ballad villain's plot-twist storyline worldbuilding sci-fi
        lullaby lullabies villanelle ode elegy eulogy acrostic couplet couplets stanza stanzas
        tongue-twister skit parody satire vignette product-description love-letter"""
    ),
    "math_strong": _words(
        """probability integral integrals derivative derivatives differentiate polynomial
        theorem eigenvalue eigenvalues determinant factorial logarithm quadratic permutation
        permutations combinatorics hexagon pentagon octagon decagon polygon diagonals
        hypotenuse divisor gcd lcm modulo"""
    ),
    "analysis_strong": _words(
        """pros-and-cons for-and-against trade-off trade-offs tradeoff tradeoffs
        advantages-and-disadvantages strengths-and-weaknesses risks-and-benefits
        benefits-and-drawbacks costs-and-benefits make-a-case make-the-case either-way critique
        critically evaluate assess analyze analyse"""
    ),
    # Tags below are not topic vocabularies: they mark task verbs, their objects and
    # structure words, and are combined by ``PAIR_RULES`` or read as plain counts.
    "number_words": _words(
        """one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty
        forty fifty hundred thousand million half twice thrice double triple dozen"""
    ),
    "fact_questions": _words("what who when where which"),
    "multistep": _words(
        """first firstly second secondly then next finally afterwards subsequently additionally
        also furthermore moreover step steps after-that in-addition"""
    ),
    "constraints": _words(
        """must should exactly without ensure only within avoid require requires required
        constraint constraints at-least at-most no-more-than do-not don't make-sure limited-to"""
    ),
    "quantity_questions": _words("how-many how-much how-long how-far how-old how-fast"),
    "code_keywords": _words(
        """def elif printf println console.log #include std iostream nullptr endl void int
        self args kwargs const var"""
    ),
    "math_task": _words("solve prove compute calculate simplify"),
    "analysis_task": _words(
        """analyze analyse compare contrast assess critique discuss summarize summarise
        classify extract identify argue justify explain-why pros-and-cons
        what-can-be-inferred interpret point-out"""
    ),
    "roleplay": _words(
        """pretend persona roleplay role-play act-as acting-as imagine-you imagine-yourself
        picture-yourself in-the-style-of as-if-you-were you-are-a you-are-an now-you-are"""
    ),
    "creative_verb": _words(
        "write compose draft create craft pen generate tell construct invent brainstorm "
        "come-up-with suggest make-up rewrite retell reimagine"
    ),
    "creative_object": _words(
        """poem poems story stories song lyrics haiku limerick sonnet novel tale fable script
        screenplay dialogue blog letter email speech essay advertisement slogan joke riddle
        narrative verse rap ballad toast tweet pitch headline caption description paragraph
        article anecdote monologue name names title titles tagline message note card
        wish wishes greeting vows eulogy short-story bedtime-story fairy-tale plot-twist
        lullaby ode elegy villanelle limerick acrostic skit parody sketch conversation
        tongue-twister"""
    ),
    "code_verb": _words("write implement create build develop fix debug refactor"),
    "code_object": _words(
        "function functions program script class code method api query algorithm app module"
    ),
    "find_verb": _words("find determine"),
    "math_object": _words(
        """value sum product area number probability derivative integral root roots order
        degree maximum minimum solution solutions remainder"""
    ),
    "role_verb": _words("assume embrace play adopt take"),
    "role_object": _words("role persona character"),
}

# Task cues: a verb followed within ``window`` words by an object counts once as ``feature``.
PAIR_RULES: tuple[tuple[str, str, int, str], ...] = (
    ("creative_verb", "creative_object", 8, "creative_task"),
    ("code_verb", "code_object", 8, "code_task"),
    ("find_verb", "math_object", 3, "math_task"),
    ("role_verb", "role_object", 3, "roleplay"),
)

# Multi-word cues, joined with hyphens into single tokens in one pass before lookup.
PHRASE_RE = re.compile(
    r"\b(?:how (?:many|much|long|far|old|fast)|after that|in addition|at least|at most|"
    r"no more than|do not|make sure|limited to|explain why|pros and cons|"
    r"what can be inferred|act as|acting as|imagine (?:you|yourself)|picture yourself|"
    r"in the style of|as if you were|you are an?|now you are|united nations|"
    r"for and against|trade offs?|advantages and disadvantages|strengths and weaknesses|"
    r"risks and benefits|benefits and drawbacks|costs and benefits|make a case|either way|"
    r"come up with|spring boot|dependency injection|big o|pull request|merge conflict|"
    r"runtime error|syntax error|vs code|fairy tale|bedtime story|short story|plot twist|"
    r"standard deviation|make up|make the case|point out|tongue twisters?|product description|"
    r"love letter|(?:left|inner|outer) join|primary key|foreign key|list comprehension|"
    r"react native|jetpack compose|android studio)\b"
)

WORD_RE = re.compile(r"[a-z#][a-z0-9+#.'-]*[a-z0-9+#]|[a-z]")

CODE_FENCE_RE = re.compile(r"```")
INLINE_CODE_RE = re.compile(r"`[^`\n]{1,80}`")
CODE_LINE_END_RE = re.compile(
    r"[;{}]\s*$|^\s*(?:for|if|elif|else|while|def|class|try|except|with)\b[^\n]*:\s*$",
    re.MULTILINE,
)
CODE_TOKEN_RE = re.compile(
    r"==|!=|<<|>>|&&|\|\||=>|\+\+|::|\.[A-Za-z_]\w*\(|[a-z0-9]_[a-z]|[a-z]{2}[A-Z][a-z]"
)
NUMBER_RE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
ARITH_RE = re.compile(r"\d\s*[+*/×÷^=<>]\s*[\d(a-z]|\d\s+-\s+\d|[a-z]\s*[*/^]\s*\d")
MATH_SYMBOL_RE = re.compile(
    r"[∫∑∏√π≤≥≠∞∂∆θαβλμσ±×÷²³⁴∈∉⊂⊆∪∩ℝℤℕℚ]|\\(?:frac|sqrt|int|sum|cdot|times|leq|geq|pi)"
    r"|[a-z]\s*\^\s*[\d{(]|\b[a-z]\(\s*[a-z0-9]\s*\)|sqrt\("
)
CURRENCY_RE = re.compile(r"[$€£]\s?\d|\d\s?%")
LOGIC_SYMBOL_RE = re.compile(r"[⊃≡∨∧¬→↔]|\s~[A-Z(]")
QUESTION_RE = re.compile(r"\?")
JUDGMENT_RE = re.compile(
    r"(?:^|[.!?]\s+)(?:should (?:i|we|you|they|a|an|the|governments?|companies|people|"
    r"society|parents|schools|countries)\b|(?:which|what) matters more\b|"
    r"is it (?:ethical|fair|wise|better|worth|right|wrong|"
    r"justified|moral|acceptable)\b|(?:which|what) is (?:better|worse|preferable|the better)\b|"
    r"would it be (?:better|wise|fair)\b|is (?:a|an|the) [\w -]{1,40} (?:still )?worth\b)",
    re.IGNORECASE | re.MULTILINE,
)
"""A question asking for a judgement (should we..., is it ethical..., which is better...)."""
ENUM_RE = re.compile(r"^\s*(?:\d+[.)]|[-*•]|\(?[a-hA-H][.)])\s+\S", re.MULTILINE)
CHOICE_RE = re.compile(r"^\s*[A-D][.)]\s", re.MULTILINE)
