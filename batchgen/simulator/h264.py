"""A minimal H.264 (Baseline profile) writer for the simulator's clips.

Every macroblock that changes is sent as I_PCM (its raw 8-bit samples) and every other
one as P_Skip (a copy of the previous frame), so no transform, prediction or entropy
coder is needed: the first frame costs its raw size, each later frame only the few
macroblocks that move. Any decoder plays the result (Chromium's included), and the
whole encoder is some hundred lines of plain Python with no dependency.

Pictures are planar 4:2:0 (`Picture`), coded at a multiple of 16 and cropped back to
their even width and height.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

MB = 16
LOG2_MAX_FRAME_NUM = 4  # frame_num is 4 bits: wraps every 16 frames, as the spec allows
_PCM_IN_I_SLICE, _PCM_IN_P_SLICE = 25, 30  # mb_type of I_PCM (P slices number intra types from 5)
_EMULATION = re.compile(b"\x00\x00(?=[\x00-\x03])")


@dataclass
class Picture:
    """A 4:2:0 picture of `width` x `height` (both even), stored at macroblock size."""

    width: int
    height: int
    y: bytearray = field(init=False)
    cb: bytearray = field(init=False)
    cr: bytearray = field(init=False)

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2 or self.width <= 0 or self.height <= 0:
            raise ValueError(f"a 4:2:0 picture needs an even size, not {self.width}x{self.height}")
        self.mbs_x = -(-self.width // MB)
        self.mbs_y = -(-self.height // MB)
        self.stride = self.mbs_x * MB
        self.y = bytearray([16]) * (self.stride * self.mbs_y * MB)
        self.cb = bytearray([128]) * (len(self.y) // 4)
        self.cr = bytearray([128]) * (len(self.y) // 4)

    def macroblock(self, mbx: int, mby: int) -> bytes:
        """The 384 raw samples of one macroblock in I_PCM order: luma, then Cb, then Cr."""
        out = bytearray()
        stride, x = self.stride, mbx * MB
        for row in range(mby * MB, mby * MB + MB):
            out += self.y[row * stride + x: row * stride + x + MB]
        half, cx = stride // 2, mbx * MB // 2
        for plane in (self.cb, self.cr):
            for row in range(mby * 8, mby * 8 + 8):
                out += plane[row * half + cx: row * half + cx + 8]
        return bytes(out)


class _Bits:
    """An MSB-first bit writer with the Exp-Golomb codes H.264 headers use."""

    def __init__(self) -> None:
        self.value, self.count, self.out = 0, 0, bytearray()

    def u(self, bits: int, value: int) -> None:
        self.value = (self.value << bits) | value
        self.count += bits
        while self.count >= 8:
            self.count -= 8
            self.out.append((self.value >> self.count) & 0xFF)
        self.value &= (1 << self.count) - 1

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(2 * code.bit_length() - 1, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        if self.count:
            self.u(8 - self.count, 0)

    def raw(self, data: bytes) -> None:
        """Append whole bytes; the writer must be byte-aligned."""
        assert self.count == 0
        self.out += data

    def trailing(self) -> bytes:
        """rbsp_trailing_bits: a stop bit, then zeros to the byte boundary."""
        self.u(1, 1)
        self.align_zero()
        return bytes(self.out)


def _nal(ref_idc: int, kind: int, rbsp: bytes) -> bytes:
    # Emulation prevention: no 00 00 0x (x <= 3) may appear inside a NAL unit.
    return bytes([(ref_idc << 5) | kind]) + _EMULATION.sub(b"\x00\x00\x03", rbsp)


def sequence_headers(width: int, height: int) -> tuple[bytes, bytes]:
    """The SPS and PPS NAL units of a stream of `width` x `height` pictures."""
    mbs_x, mbs_y = -(-width // MB), -(-height // MB)
    sps = _Bits()
    sps.u(8, 66)  # profile_idc: Baseline
    sps.u(8, 0b11000000)  # constraint_set0/1: decodable by Baseline and Main decoders
    sps.u(8, 30)  # level 3.0
    sps.ue(0)  # seq_parameter_set_id
    sps.ue(LOG2_MAX_FRAME_NUM - 4)
    sps.ue(2)  # pic_order_cnt_type 2: output order is decoding order
    sps.ue(1)  # max_num_ref_frames
    sps.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    sps.ue(mbs_x - 1)
    sps.ue(mbs_y - 1)
    sps.u(1, 1)  # frame_mbs_only_flag
    sps.u(1, 1)  # direct_8x8_inference_flag
    crop_right, crop_bottom = (mbs_x * MB - width) // 2, (mbs_y * MB - height) // 2
    sps.u(1, 1 if crop_right or crop_bottom else 0)
    if crop_right or crop_bottom:
        for offset in (0, crop_right, 0, crop_bottom):  # left, right, top, bottom (2-pixel units)
            sps.ue(offset)
    sps.u(1, 0)  # vui_parameters_present_flag
    pps = _Bits()
    pps.ue(0)  # pic_parameter_set_id
    pps.ue(0)  # seq_parameter_set_id
    pps.u(1, 0)  # entropy_coding_mode_flag: CAVLC
    pps.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    pps.ue(0)  # num_slice_groups_minus1
    pps.ue(0)  # num_ref_idx_l0_default_active_minus1
    pps.ue(0)  # num_ref_idx_l1_default_active_minus1
    pps.u(1, 0)  # weighted_pred_flag
    pps.u(2, 0)  # weighted_bipred_idc
    pps.se(0)  # pic_init_qp_minus26
    pps.se(0)  # pic_init_qs_minus26
    pps.se(0)  # chroma_qp_index_offset
    pps.u(1, 1)  # deblocking_filter_control_present_flag: lets slices turn the filter off
    pps.u(1, 0)  # constrained_intra_pred_flag
    pps.u(1, 0)  # redundant_pic_cnt_present_flag
    return _nal(3, 7, sps.trailing()), _nal(3, 8, pps.trailing())


def _slice_header(bits: _Bits, idr: bool, frame_num: int) -> None:
    bits.ue(0)  # first_mb_in_slice
    bits.ue(7 if idr else 5)  # slice_type: I or P, the same for the whole picture
    bits.ue(0)  # pic_parameter_set_id
    bits.u(LOG2_MAX_FRAME_NUM, frame_num % (1 << LOG2_MAX_FRAME_NUM))
    if idr:
        bits.ue(0)  # idr_pic_id
    else:
        bits.u(1, 0)  # num_ref_idx_active_override_flag
        bits.u(1, 0)  # ref_pic_list_modification_flag_l0
    if idr:
        bits.u(1, 0)  # no_output_of_prior_pics_flag
        bits.u(1, 0)  # long_term_reference_flag
    else:
        bits.u(1, 0)  # adaptive_ref_pic_marking_mode_flag: sliding window
    bits.se(0)  # slice_qp_delta
    # The deblocking filter would blur the edges between copied and raw macroblocks.
    bits.ue(1)  # disable_deblocking_filter_idc


def idr_frame(picture: Picture) -> bytes:
    """The first frame: every macroblock raw."""
    bits = _Bits()
    _slice_header(bits, True, 0)
    for mby in range(picture.mbs_y):
        for mbx in range(picture.mbs_x):
            bits.ue(_PCM_IN_I_SLICE)
            bits.align_zero()
            bits.raw(picture.macroblock(mbx, mby))
    return _nal(3, 5, bits.trailing())


def p_frame(picture: Picture, frame_num: int, changed: Iterable[tuple[int, int]]) -> bytes:
    """A later frame: the `changed` macroblocks (x, y) raw, every other one copied."""
    order = sorted({mby * picture.mbs_x + mbx for mbx, mby in changed})
    bits = _Bits()
    _slice_header(bits, False, frame_num)
    previous = -1
    for address in order:
        bits.ue(address - previous - 1)  # mb_skip_run before this macroblock
        bits.ue(_PCM_IN_P_SLICE)
        bits.align_zero()
        bits.raw(picture.macroblock(address % picture.mbs_x, address // picture.mbs_x))
        previous = address
    remaining = picture.mbs_x * picture.mbs_y - previous - 1
    if remaining:
        bits.ue(remaining)
    return _nal(2, 1, bits.trailing())
