"""Every limit and threshold of the photo path, in one place, each with where it came from.

Sizes in pixels refer to the working image (the photo scaled so its longer side is at most
WORK_SIDE) unless they say otherwise. Fractions of the "digit height" refer to the median height
of the digit-sized marks found in the photo.
"""

# --- Input limits (core.decode) ---------------------------------------------------------------
# Telegram lets bots download files up to 20 MB; photos it recompresses are far smaller.
MAX_FILE_BYTES = 20 * 1024 * 1024
# 50 megapixels: above any phone camera in common use (48-50 MP sensors bin to 12 MP by
# default). A 30000x30000 "bomb" (900 MP) is refused before its pixels are decoded.
MAX_PIXELS = 50_000_000
# Formats without reduced-size decoding (PNG, WebP, ...) are decoded whole. Measured peak RSS
# of decode+read+render above the idle process: 12-MP RGBA PNG ~105 MB, 12-MP WebP ~190 MB
# (libwebp holds extra copies), so WebP gets half the pixels; both stay within the bot's
# 150 MB per-photo budget, and a 12-MP phone photo saved as PNG still passes.
MAX_PIXELS_LOSSLESS = 12_000_000
MAX_PIXELS_WEBP = 6_000_000
# Smaller than this on either side cannot hold a 15-px digit with any margin.
MIN_SIDE = 16
# Formats a phone or chat app actually sends; anything else Pillow happens to open is refused.
FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"})
# Longest side of the working image. Telegram sends photos at <= 1280 px; 1600 keeps a 15-px digit
# of a 2000-px photo above 12 px while keeping a 12-MP JPEG fast (PIL draft decodes it at 1/2).
WORK_SIDE = 1600

# --- Cleaning (core.clean) --------------------------------------------------------------------
# Background estimate: the page shrunk by BG_SHRINK and closed with a kernel BG_KERNEL_FRACTION
# of the longer side, wider than the strokes of digits up to ~half the frame yet narrower than
# the shadows of a hand or phone. When the largest mark then looks hollow (its strokes over
# HOLLOW_STROKE x the kernel: only the outline of a thicker stroke was found, as for a marker
# digit filling the frame, strokes ~12 % of its height) the page is redone with BG_KERNEL_BIG.
BG_SHRINK = 8
BG_KERNEL_FRACTION = 0.07
BG_KERNEL_BIG = 0.25
HOLLOW_STROKE = 0.3
# A soft, blurred marker stroke is found as frayed pieces of its outline, narrower than that but
# over HOLLOW_FRAYED x the kernel; it is redone too when the big kernel finds ink HOLLOW_GAIN x
# stronger under the largest mark (its 90th percentile). Measured: 3.5 for a blurred marker 7 of
# the 1,200 tuning photos and 2.5 for the test photo big_soft_one.jpg; at most 1.2 for the other
# marks with strokes that wide (paper edges); marks with narrower strokes reach 2.45 (a shadow's
# edge through a line of digits).
HOLLOW_FRAYED = 0.15
HOLLOW_GAIN = 2.0
# Ink strength below which a pixel is never ink: 6 % darker than the local paper (seeds: twice
# that). Faint pencil in our test photos sits at 15-40 %; JPEG ringing, paper texture and the
# errors of the background estimate at vignetted corners stay under ~6 %.
INK_FLOOR = 0.06
# Noise-relative thresholds, in robust standard deviations of the flattened background (MAD).
NOISE_SEED = 7.0  # a stroke must reach this somewhere (hysteresis seed)
NOISE_GROW = 3.5  # and is followed down to this
# Seeds must also reach this fraction of the typical ink strength of the page, so a shadow edge
# on a page of dark marker does not pass just because the page is clean.
SEED_OF_STRENGTH = 0.35
GROW_OF_STRENGTH = 0.18
# Polarity (see clean._light_on_dark): bright marks POLARITY_CONTRAST grey levels above the
# frame's median must outnumber dark ones by POLARITY_RATIO (a chalk board: ~all bright; paper:
# ~all dark), and reading the page as dark ink must find POLARITY_INK_RATIO times more ink
# (stronger than POLARITY_INK) than reading it as light ink.
POLARITY_RATIO = 1.3
POLARITY_CONTRAST = 40
POLARITY_INK = 0.25
# The second vote must be this clear. Over 600 medium and hard tuning photos, the chalk boards
# gave ratios of 5.4 and up; paper stayed under 1.1, except under large marker digits written
# close together (1.5): the gaps between thick strokes look like light ink.
POLARITY_INK_RATIO = 3.0
# Fewest bright pixels (at 1/4 scale) that can be chalk: faint chalk on a board gives ~10.
POLARITY_MIN_BRIGHT = 5
# On a clean board the light-ink reading finds 0.4-1 of the pixels far brighter than the median
# (one to four clean chalk digits, 30-150 px; 0.4 for a thin 1 under uneven light); by a shadow
# over paper, 0.002 (the one tuning page with no dark pixels that passed the first vote). Without
# smudges or vignetting to count as "ink" when read the wrong way, one line of such digits gave
# a second-vote ratio of 0-2.2.
POLARITY_STROKES = 0.25

# Glare (core.glare): a patch of the photo (shrunk GLARE_SHRINK x) at GLARE_LEVEL or more in
# every channel, at least GLARE_MIN_AREA of the frame (a 50-px square on a 1280x960 photo) and
# clear of the frame's edges, unless over GLARE_MAX_SHARE of the frame is clipped white (an
# overexposed page, a scan). Measured on easy photos (seeds 3000-3029) under a mirrored
# highlight peaking at +25 to +90 % of white: 30 of 30 flagged at each strength (the clipped
# patch: 2-18 % of the frame); none of 2,400 synthesizer photos nor of the same 30 photos plain,
# in tungsten or low light, under a hand's shadow, or overexposed as a whole (64-99 % clipped).
# Exposed 10 % brighter than the synthesizer's pages (uneven light clipping the brightest part of
# the paper), 4 of 30 were flagged with nothing washed out.
GLARE_SHRINK = 4
GLARE_LEVEL = 252
GLARE_MIN_AREA = 0.002
GLARE_MAX_SHARE = 0.3
# A spot warns only when it lies within GLARE_NEAR x digit height of the digits read (or when no
# digit was read): glare on the desk beside the page hides nothing.
GLARE_NEAR = 3.0

# --- Deskew -----------------------------------------------------------------------------------
MAX_SKEW_DEG = 22.0  # the issue asks for +-20 deg; a little margin
SKEW_STEP_DEG = 1.0  # then refined to a quarter of a degree
MIN_SKEW_DEG = 0.75  # smaller rotations are left alone: MNIST digits are slanted that much anyway
# Rotation is estimated only with at least this many marks (a lone "1" would otherwise be
# "straightened" by up to 20 deg: its projection profile is sharpest when tilted).
MIN_SKEW_MARKS = 3
MAX_SKEW_MARKS = 500  # marks used for the nearest-neighbour estimate (cost grows as the square)
# ... and only when it sharpens the row profile by this factor: a lone "1" tilted 20 deg gains
# ~6 %, a line of digits tilted 3 deg gains far more.
MIN_SKEW_GAIN = 1.1
# Perspective tilts the vertical lines of squared paper apart from the horizontal ones; they are
# made vertical by a shear of up to this much, only when it sharpens the column profile a lot
# (grid lines do; handwriting alone rarely does, and a slanted hand is left slanted).
MAX_SHEAR_DEG = 8.0
MIN_SHEAR_GAIN = 1.3

# --- Ruled and grid lines ---------------------------------------------------------------------
# A straight run at least this fraction of the page side is a printed line, not a digit stroke.
LINE_MIN_FRACTION = 0.25
# ... and no thicker than this fraction of the longer side (1 % ~ 13 px at 1280 px; printed rules
# are 1-4 px, a marker "1" filling the frame is ~50 px).
LINE_MAX_THICKNESS = 0.01
# A mark spanning the page is a grid when it has this many holes (cells). Squared paper found as
# one mark had 167-1648 on 600 medium and hard tuning photos; the outline of a hard shadow,
# which spans the page as well, 1-44 (crossed by ruled lines), and was taken for a grid: the
# page's rotation was then measured on the shadow's edges and the digits were read unrotated.
GRID_CELLS = 100
# Tilts (degrees) at which printed lines are looked for once the page is level: perspective
# leaves each line of a page a little off level, by up to ~4 deg at the corners of a photo
# taken 0.04 of the frame askew (our hard test photos). Steps of 4/3 deg keep every line within
# the 5-row tolerance of one of them over the shortest run that counts as a line.
RULE_TILTS_DEG = (-4.0, -8 / 3, -4 / 3, 0.0, 4 / 3, 8 / 3, 4.0)

# --- Segmentation (core.segment) --------------------------------------------------------------
EDGE_MARGIN = 3  # marks this close to the frame edge are cut off by it: not read
MIN_DIGIT_PX = 7  # shortest digit we try to read, working pixels (issue: ~15 px in the photo)
# A mark cut by the frame edge, CUT_HEIGHT x digit height tall and within CUT_NEAR x digit
# height of a whole digit in line with it, is taken for a digit cut off: the reader is warned.
# Synthetic photos never cut a digit; on 1,200 tuning photos (300 a level) it warned on one,
# where the synthesizer had mirrored a grid at the frame edge.
CUT_HEIGHT = (0.5, 1.6)
CUT_NEAR = 2.0
SPECK_FRACTION = 0.3  # marks shorter and narrower than this x digit height are specks
DASH_HEIGHT = 0.35  # marks over twice as wide as tall and under this x digit height: dashes
MERGE_GAP = 0.35  # broken strokes: pieces overlapping in x, at most this x height apart, merge
# ... when they overlap by this much of the narrower one's width: a 5's detached bar may start
# over the right half of its body (0.5 left such bars out, and the body read as a 3 or a 6:
# 0.3 mended 2 hard and 1 medium tuning photos and 1 hard check photo and broke none; 0.2
# mended more but broke a hard check photo and a photo of printed boxes).
MERGE_OVERLAP = 0.3
MERGE_MAX_HEIGHT = 1.5  # ... unless the merged mark would be taller than this x digit height
FRAGMENT = 0.55  # marks smaller than this x height are fragments, given to a digit right next
FRAGMENT_GAP = 0.2  # to them (at most this x height away) if there is one
# A mark under DOT x height both ways is a dot or comma when alone; beside a digit, a piece of it.
# (Pieces beside a digit were attached only under 0.3 x height. At 0.45, on 1,800 tuning and
# check photos, 4 were mended (a chalk 9 with its loop apart, a 7 and a 3 in pieces), none broken.)
DOT = 0.45
# A digit broken by a vertical gap: a piece narrower than PIECE_WIDTH and shorter than
# PIECE_HEIGHT x height (a "1" is full height) at most PIECE_GAP x height from its neighbour.
PIECE_WIDTH = 0.4
PIECE_HEIGHT = 0.85
PIECE_GAP = 0.1
# Two neighbours at most JOIN_GAP x height apart, together at most JOIN_WIDTH x as wide as
# the digit height or their own (wider lets a "1" and its neighbour be read as one digit), that
# the model reads as one digit (not a "1") at least JOIN_SURE surely are one broken digit.
JOIN_GAP = 0.1
JOIN_WIDTH = 1.0
JOIN_SURE = 0.9
# ... unless one of the two already reads as that digit and is at least JOIN_WHOLE x as wide as
# the usual digit on the page: then the other is a separate mark (a "1" written close to an "8").
# Halves of a broken 0 or 4 are 0.4-0.5 x as wide as the usual digit; a narrow 3 was 0.67.
JOIN_WHOLE = 0.6
# A dash set aside by core.segment, shorter than BAR_WIDTH x digit height, whose middle lies
# level with the top BAR_TOP of a mark's height and which starts over the mark's right part or
# at most BAR_GAP x digit height beyond it, is that digit's detached bar if the two read at least
# JOIN_SURE surely as another digit (not a 1): a 5 whose bar stands beside its body read as a 3
# or a 1. Tuning photos: hard 182 -> 184, medium 260 -> 262, easy 288 -> 289, none broken (the
# same with BAR_GAP 0.5, BAR_WIDTH 1.0 or a sureness of 0.8); check photos: no photo changed.
BAR_WIDTH = 0.8
BAR_TOP = 0.35
BAR_GAP = 0.3
# A mark read below JOIN_UNSURE beside a digit that the two together read as (at JOIN_SURE) is a
# piece of it, up to JOIN_PIECE_WIDTH x height wide together (a 5 whose tail came apart: such
# pieces read at 0.54-0.67 on tuning photos and gave an extra digit). On 1,800 tuning and check
# photos the rule mended 5 and broke none.
JOIN_UNSURE = 0.7
JOIN_PIECE_WIDTH = 1.5
# Marks whose ink fills less than this of their box are lines, not digits (the edge of a
# shadow, a drawn frame): left out of the digit-height estimate. A thin-pen 7 fills ~0.1.
MIN_FILL = 0.04
# Faint digits (segment._faint_digits): looked for up to FAINT_REACH x digit height beyond the
# ends of each line, and kept when FAINT_MIN_HEIGHT..FAINT_MAX_HEIGHT x digit height tall (a
# digit within a line varies ~±10 %; a tall faint mark is a shadow's edge or a drawing).
FAINT_REACH = 1.5
FAINT_MIN_HEIGHT = 0.6
FAINT_MAX_HEIGHT = 1.3
# A line where two or more faint marks are straight bars (narrower than FAINT_BAR x their length,
# as MNIST 1s are, ~0.1-0.35) is left alone: pieces of a grid too faint to be found and removed
# come in numbers, a faint 1 alone. Faint marks must be read with at least FAINT_SURE.
FAINT_BAR = 0.35
FAINT_SURE = 0.8
# Pieces of a faint mark at most 2 x FAINT_JOIN x digit height apart are one mark: a faint
# stroke breaks where it is faintest.
FAINT_JOIN = 0.05
LINE_OVERLAP = 0.4  # a mark joins a text line when it shares this much of its height with it
GROUP_GAP = 0.8  # a gap wider than this x digit height starts a new group (a space in text)
GROUP_GAP_MAX = 1.6  # ... and one wider than this always does
# Touching digits: a mark wider than this x its height is tried as two or more digits.
WIDE_RATIO = 1.05
LOOP_CUT_RATIO = 1.8  # marks narrower than this x height are not cut where a column crosses
# two strokes: that opens a loop of one digit; two touching digits meet in a single stroke
SPLIT_MIN_GAIN = 0.15  # a split must raise the lower of the digit confidences by this much,
# A mark up to KEEP_WHOLE_RATIO x as wide as tall that the model reads as one digit this surely
# stays whole unless it is PAIR_WIDTH x as wide as the usual digit: 7 % of MNIST test digits are
# wider than tall, and their halves often look like digits too.
KEEP_WHOLE = 0.97
KEEP_WHOLE_SURE = 0.995  # ... and this surely, even when that wide
KEEP_WHOLE_RATIO = 2.2
PAIR_WIDTH = 1.5  # unless the mark is this much wider than the usual digit (then 0.5 will do)
# A mark this much wider than the usual digit whose two halves are both PAIR_HALF_HEIGHT x its
# height or taller is split when the halves read at least as surely as the whole. On tuning photos,
# single digits whose halves read surely as digits were 1.15-1.27 x the usual width (a 2 or a 6
# cut into "10") or left a half 0.3-0.72 x the height (a 6's tail, a 5's bar); the touching
# pairs read as one at 99.7-99.99 % were 1.5-2.2 x as wide, with halves over 0.8 x the height.
PAIR_SPLIT_WIDTH = 1.3
PAIR_HALF_HEIGHT = 0.75
# Readings surer than one in a million count as equally sure. 74 % of MNIST test digits are read
# that surely (its surest mistake there has a doubt of 2e-5), and beyond it a touching pair and
# its halves come out in either order.
DOUBT_FLOOR = 1e-6
# A roundish blob without holes whose ink fills this much of its convex hull is a stain: thick
# digits without loops (1 2 3 5 7) have concave sides and stay well below; a solid disc is ~1.
BLOB_SOLIDITY = 0.95
# ... judged on its ink above this fraction of its strongest: the loops of a small, blurred digit
# fill its mask but stay lighter than its strokes, while a stain is dark all over.
STAIN_CORE = 0.5
# A mark taller than SHADE_SIZE x digit height whose ink is weaker than SHADE_INK x that of the
# page's usual mark is shading, not writing (the soft corner of a hard shadow after flattening):
# such corners read as digits on tuning photos had 0.25-0.8 of the usual ink and 1.4-2.6 x the
# height; a digit that tall is written with the same pen as the rest. (Wide weak marks are
# more often touching digits in lighter ink.)
SHADE_INK = 0.8
SHADE_SIZE = 1.3
# A mark weaker than SHADE_INK x the usual is followed again down to GROW_OF_STRENGTH x its own
# strength (not below the paper's noise), up to REGROW_REACH x digit height round its box, and
# keeps what that finds when it adds at least REGROW_MIN x digit height to its height or width:
# a faint stroke, not the blurred rim of its ink (0.05 let the rims move group spaces: one
# medium tuning photo lost; 0.2 missed a hard one).
REGROW_REACH = 0.4
REGROW_MIN = 0.1
# A mark shorter than REGROW_SHORT x digit height is followed again down to the paper's noise,
# up to FAINT_MAX_HEIGHT x digit height tall, with the same rules: a 6 whose thin stem was
# fainter than its loop read as a 0, a 7 without its faint top as a 1. Tuning photos: easy,
# medium and hard each +1 and none broken (the same from 0.6 to 0.8); check: medium and hard +1.
REGROW_SHORT = 0.7
# A mark spanning over SHADE_SPAN of the page whose median ink is under PEEL_WEAK x the page's
# ink strength is mostly shading (the faint band along a hard shadow's edge: 0.28-0.41 of it on
# test photos). Only what of it reaches PEEL x that strength is kept, and of that only the
# pieces whose strongest ink (95th percentile) reaches PEEL_KEEP x it: the digits that crossed
# the band had 1.3-1.6, the band's darkest stretches 0.5-0.65. PEEL was 0.45; the band along a
# sharp edge (a phone's shadow under one lamp, edge blurred by 1.5 px) peaks at ~0.53 and stayed
# joined to the digits: with 0.55, 20 of 30 such easy photos read right instead of 10 (at 4 px:
# 22 instead of 23), and no tuning, check or scene photo went from right to wrong or back.
SHADE_SPAN = 0.25
PEEL_WEAK = 0.5
PEEL = 0.55
PEEL_KEEP = 0.9
# ... unless one strong piece spans over PEEL_WHOLE of the mark: then it is one large soft digit
# (single-digit photos were peeled apart without this: their strong cores spanned 0.4-0.9 of
# the mark), not a band with digits grown in (digits spanned 0.08-0.2 of the bands).
PEEL_WHOLE = 0.3
# The sides of printed boxes (clean._box_sides) are at most this x the rules' thickness wide.
BOX_SIDE_WIDTH = 2.5
BOX_SIDE_LEAN = 0.1  # ... give or take this x their height: turned up to ~6 deg
# ... and, between their ends (which may keep what the rules leave where they cross, or a row's
# corners), fill this much of their turned bounding box: straight, not a stroke of a digit.
BOX_SIDE_FILL = 0.6
# ... and come BOX_SIDES or more to a row, evenly spaced: every gap a whole number of the
# narrowest, give or take BOX_SPACING of it. Taken one by one, they removed 1s written from one
# rule to the next on ruled paper.
BOX_SIDES = 3
BOX_SPACING = 0.15
# A hole is a printed box's cell (clean._cell) when it is a rectangle, filling CELL_FILL of its
# turned bounding box (an oval fills pi/4 = 0.79), at least CELL_HEIGHT as tall as its mark.
CELL_FILL = 0.9
CELL_HEIGHT = 0.7
# A mark holding in one of its holes a digit-sized mark FRAME_AREA x smaller (by box) is a frame
# round the writing (a sheet's edge on a dark desk, a drawn ring, a printed box), not a digit.
# Segmentation used to see only outer outlines, and lost all that such a frame held.
FRAME_AREA = 4.0
FRAME_LINE = 0.8  # a frame's rows or columns this full are its straight lines, and go
BLOB_GIANT = 3.0  # marks taller than this x digit height are not digits (paper edges, drawings)
MAX_MARKS = 3000  # connected marks considered at all; more is texture, not writing
MAX_DIGITS = 300  # digits returned; the issue asks for 100+

# --- Classification (core.read) ---------------------------------------------------------------
# The model's probabilities are calibrated (see models/README.md): below this the digit is
# flagged uncertain. At 0.8 about one digit in five flagged is actually wrong on our photo set.
UNCERTAIN_BELOW = 0.8
# A mark whose likeliest digit is below this, the digits' probabilities taken relative to each
# other, is not a digit at all (a scribble the model cannot place) and is dropped.
NOT_A_DIGIT_BELOW = 0.3
# A mark at least this tall (working px) that the model reads likelier as "not a digit" than as
# any digit (a letter, a symbol) is dropped. Smaller ones are kept, flagged by their low
# confidence: below ~30 px blur and JPEG leave too little of a digit for that doubt to be
# trusted. Hard tuning photos (digits 16-30 px on 30 % of them) read right: 159 of 300 dropping
# such marks at any height, 162 never dropping them, 165 dropping them from 30 px (24 px: 162,
# 36 px: 164). The `words` scene (words 40-80 px tall): 84 of 100 from 30 px, 0 never.
WORD_MIN_PX = 30
INK_PAD = 2  # pixels of anti-aliased edge kept around each digit's mask for to_mnist
# An uncertain digit is read again with this margin, and the two readings averaged. On the hard
# tuning photos, 4 px read 78 of 125 uncertain digits right, against 72 with INK_PAD (but 4 px
# for every mark reads fewer photos right: neighbours leak in).
INK_PAD_UNSURE = 4

# --- Rendering (core.render) ------------------------------------------------------------------
RENDER_SIDE = 1280  # Telegram shows photos at up to 1280 px
RENDER_BARS_MAX = 40  # digits that get a confidence-bar cell; the rest are listed in the text
GREEN_FROM = 0.9  # box colour: green from here, amber down to UNCERTAIN_BELOW, red below
