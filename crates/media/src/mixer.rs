//! The conference mixer: every 20 ms tick it takes one decoded frame per
//! member and gives each member the mix of everyone else.
//!
//! Sans-IO like the rest of the crate: the switch decodes each member's
//! jitter-buffer output, [`Mixer::push`]es it (or nothing, when the buffer
//! said `Missing`/`NotYet`), calls [`Mixer::tick`] and encodes each
//! [`Mixer::output`] back to the member.
//!
//! Cost is O(N) per tick, not O(N²): the mixer sums every contribution
//! once into an `i32` total and gives each member `total - own`, with the
//! subtraction done on the `i32` values *before* clipping, so a loud
//! conference cannot leak a member's own voice back to them through the
//! clipper. All buffers live in the members and the mixer and are reused,
//! so a tick allocates nothing.

use std::collections::HashMap;
use std::fmt;

use crate::g711::FRAME_SAMPLES;

/// One 20 ms frame of 8 kHz linear audio.
pub type Frame = [i16; FRAME_SAMPLES];

/// Who a member is, as the switch names it (its leg id).
pub type MemberId = u64;

/// Gain is fixed point with this many fraction bits (4096 = unity), so a
/// tick uses integer arithmetic only.
const GAIN_SHIFT: u32 = 12;
const UNITY: i32 = 1 << GAIN_SHIFT;
/// The largest gain accepted (+18 dB); more would only feed the clipper.
pub const MAX_GAIN: f32 = 8.0;
/// Default member limit: with [`MAX_GAIN`] every contribution is below
/// 2^18, so 1,000 of them stay far inside `i32`.
pub const DEFAULT_MAX_MEMBERS: usize = 1000;

/// What a member does in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Heard by the others and hears them.
    Speaker,
    /// Hears the room but is never heard (a supervisor, a webinar audience).
    ListenOnly,
}

/// How sums beyond the 16-bit range are brought back into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clip {
    /// Saturate at ±32767/−32768: exact below full scale, harsh above it.
    Hard,
    /// Linear up to ±[`SOFT_KNEE`], then a smooth curve (slope 1 at the knee)
    /// towards full scale: two people shouting distort less.
    Soft,
}

/// Where [`Clip::Soft`] leaves the linear range (0.75 of full scale).
pub const SOFT_KNEE: i32 = 24576;

/// Why a mixer call was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MixError {
    /// No member has this id.
    UnknownMember(MemberId),
    /// The id is already in the room.
    AlreadyMember(MemberId),
    /// The room holds its maximum number of members.
    Full {
        /// The limit the mixer was built with.
        max: usize,
    },
    /// A gain that is negative, not finite or above [`MAX_GAIN`].
    BadGain(f32),
}

impl fmt::Display for MixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MixError::UnknownMember(id) => write!(f, "no member {id} in the mix"),
            MixError::AlreadyMember(id) => write!(f, "member {id} is already in the mix"),
            MixError::Full { max } => write!(f, "the mix is full ({max} members)"),
            MixError::BadGain(g) => write!(f, "gain {g} is outside 0..={MAX_GAIN}"),
        }
    }
}

impl std::error::Error for MixError {}

#[derive(Debug)]
struct Member {
    id: MemberId,
    role: Role,
    muted: bool,
    gain: i32,
    /// This tick's input, valid when `has_input`.
    input: Frame,
    has_input: bool,
    /// What this member put into the total this tick (gain applied); only
    /// meaningful when `contributed`.
    contrib: [i32; FRAME_SAMPLES],
    contributed: bool,
    /// What this member hears, rewritten by every tick.
    out: Frame,
}

/// The mix for one conference room.
#[derive(Debug)]
pub struct Mixer {
    members: Vec<Member>,
    index: HashMap<MemberId, usize>,
    total: [i32; FRAME_SAMPLES],
    everyone: Frame,
    clip: Clip,
    max_members: usize,
}

impl Mixer {
    /// An empty room clipping with `clip`, holding up to
    /// [`DEFAULT_MAX_MEMBERS`].
    pub fn new(clip: Clip) -> Self {
        Self::with_max_members(clip, DEFAULT_MAX_MEMBERS)
    }

    /// An empty room with its own member limit (capped at
    /// [`DEFAULT_MAX_MEMBERS`] so the `i32` sums cannot overflow).
    pub fn with_max_members(clip: Clip, max_members: usize) -> Self {
        Mixer {
            members: Vec::new(),
            index: HashMap::new(),
            total: [0; FRAME_SAMPLES],
            everyone: [0; FRAME_SAMPLES],
            clip,
            max_members: max_members.min(DEFAULT_MAX_MEMBERS),
        }
    }

    /// How many members are in the room.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the room is empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether `id` is in the room.
    pub fn contains(&self, id: MemberId) -> bool {
        self.index.contains_key(&id)
    }

    /// Adds a member, unmuted at unity gain. It hears silence until the
    /// next tick.
    pub fn join(&mut self, id: MemberId, role: Role) -> Result<(), MixError> {
        if self.index.contains_key(&id) {
            return Err(MixError::AlreadyMember(id));
        }
        if self.members.len() >= self.max_members {
            return Err(MixError::Full { max: self.max_members });
        }
        self.index.insert(id, self.members.len());
        self.members.push(Member {
            id,
            role,
            muted: false,
            gain: UNITY,
            input: [0; FRAME_SAMPLES],
            has_input: false,
            contrib: [0; FRAME_SAMPLES],
            contributed: false,
            out: [0; FRAME_SAMPLES],
        });
        Ok(())
    }

    /// Removes a member; from the next tick nobody hears it.
    pub fn leave(&mut self, id: MemberId) -> Result<(), MixError> {
        let at = self.index.remove(&id).ok_or(MixError::UnknownMember(id))?;
        self.members.swap_remove(at);
        if let Some(moved) = self.members.get(at) {
            self.index.insert(moved.id, at);
        }
        Ok(())
    }

    fn member_mut(&mut self, id: MemberId) -> Result<&mut Member, MixError> {
        let at = *self.index.get(&id).ok_or(MixError::UnknownMember(id))?;
        Ok(&mut self.members[at])
    }

    /// Mutes or unmutes a member: a muted member still hears the room.
    pub fn set_muted(&mut self, id: MemberId, muted: bool) -> Result<(), MixError> {
        self.member_mut(id)?.muted = muted;
        Ok(())
    }

    /// Whether a member is muted.
    pub fn is_muted(&self, id: MemberId) -> Option<bool> {
        self.index.get(&id).map(|&at| self.members[at].muted)
    }

    /// Changes a member's role.
    pub fn set_role(&mut self, id: MemberId, role: Role) -> Result<(), MixError> {
        self.member_mut(id)?.role = role;
        Ok(())
    }

    /// Sets how loud the others hear a member, as a linear factor in
    /// `0.0..=MAX_GAIN` (1.0 leaves it unchanged, 0.5 is about −6 dB).
    pub fn set_gain(&mut self, id: MemberId, gain: f32) -> Result<(), MixError> {
        if !gain.is_finite() || !(0.0..=MAX_GAIN).contains(&gain) {
            return Err(MixError::BadGain(gain));
        }
        self.member_mut(id)?.gain = (gain * UNITY as f32).round() as i32;
        Ok(())
    }

    /// Gives a member's frame for the coming tick; `None` (or not calling
    /// this) means the member sent nothing usable this tick and adds
    /// nothing. A second push before the tick replaces the first.
    pub fn push(&mut self, id: MemberId, frame: Option<&Frame>) -> Result<(), MixError> {
        let m = self.member_mut(id)?;
        match frame {
            Some(f) => {
                m.input = *f;
                m.has_input = true;
            }
            None => m.has_input = false,
        }
        Ok(())
    }

    /// Mixes one tick: every member's output becomes the sum of all other
    /// speaking, unmuted members with input, plus `inject` (an entry tone or
    /// prompt everyone hears), clipped to 16 bits. Inputs are consumed.
    pub fn tick(&mut self, inject: Option<&Frame>) {
        match inject {
            Some(f) => {
                for (t, &s) in self.total.iter_mut().zip(f.iter()) {
                    *t = i32::from(s);
                }
            }
            None => self.total = [0; FRAME_SAMPLES],
        }
        for m in &mut self.members {
            m.contributed = m.has_input && !m.muted && m.role == Role::Speaker && m.gain != 0;
            if m.contributed {
                for ((c, &s), t) in m.contrib.iter_mut().zip(m.input.iter()).zip(self.total.iter_mut()) {
                    *c = if m.gain == UNITY { i32::from(s) } else { (i32::from(s) * m.gain) >> GAIN_SHIFT };
                    *t += *c;
                }
            }
            m.has_input = false;
        }
        let clip = self.clip;
        for (e, &t) in self.everyone.iter_mut().zip(self.total.iter()) {
            *e = clip_sample(clip, t);
        }
        for m in &mut self.members {
            if m.contributed {
                // Subtract before clipping: clip(total) - own would leave a
                // trace of the member's own voice whenever the total clipped.
                for ((o, &t), &c) in m.out.iter_mut().zip(self.total.iter()).zip(m.contrib.iter()) {
                    *o = clip_sample(clip, t - c);
                }
            } else {
                m.out = self.everyone;
            }
        }
    }

    /// What a member hears after the last tick.
    pub fn output(&self, id: MemberId) -> Option<&Frame> {
        self.index.get(&id).map(|&at| &self.members[at].out)
    }

    /// Every member's id and what it hears after the last tick.
    pub fn outputs(&self) -> impl Iterator<Item = (MemberId, &Frame)> {
        self.members.iter().map(|m| (m.id, &m.out))
    }

    /// The whole room after the last tick (everyone plus the injection):
    /// what a recording of the conference writes.
    pub fn room(&self) -> &Frame {
        &self.everyone
    }
}

/// Brings an `i32` sum into 16 bits without wrapping.
pub fn clip_sample(clip: Clip, x: i32) -> i16 {
    match clip {
        Clip::Hard => x.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16,
        Clip::Soft => {
            let mag = i64::from(x).abs();
            let knee = i64::from(SOFT_KNEE);
            if mag <= knee {
                return x as i16;
            }
            // y = K + H·d/(d + H) with d = |x| − K and H = headroom: slope 1 at
            // the knee, approaching full scale but never reaching it.
            let head = 32767 - knee;
            let d = mag - knee;
            let y = knee + head * d / (d + head);
            (if x < 0 { -y } else { y }) as i16
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(period: usize, amp: i16, phase: usize) -> Frame {
        let mut f = [0i16; FRAME_SAMPLES];
        for (i, s) in f.iter_mut().enumerate() {
            let x = ((i + phase) % period) as f64 / period as f64 * std::f64::consts::TAU;
            *s = (x.sin() * f64::from(amp)) as i16;
        }
        f
    }

    fn dot(a: &Frame, b: &Frame) -> f64 {
        a.iter().zip(b.iter()).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum()
    }

    /// Normalised correlation in −1..=1; 0 when either side is silent.
    fn corr(a: &Frame, b: &Frame) -> f64 {
        let d = (dot(a, a) * dot(b, b)).sqrt();
        if d == 0.0 {
            0.0
        } else {
            dot(a, b) / d
        }
    }

    fn room(n: u64) -> Mixer {
        let mut m = Mixer::new(Clip::Hard);
        for id in 1..=n {
            m.join(id, Role::Speaker).unwrap();
        }
        m
    }

    #[test]
    fn two_members_hear_each_other_exactly() {
        let mut m = room(2);
        let a = tone(40, 8000, 0);
        let b = tone(16, 5000, 3);
        m.push(1, Some(&a)).unwrap();
        m.push(2, Some(&b)).unwrap();
        m.tick(None);
        assert_eq!(m.output(1).unwrap(), &b);
        assert_eq!(m.output(2).unwrap(), &a);
    }

    #[test]
    fn three_members_each_hear_the_sum_of_the_other_two() {
        let mut m = room(3);
        let f = [tone(40, 7000, 0), tone(16, 6000, 1), tone(25, 5000, 7)];
        for (id, fr) in (1..=3).zip(f.iter()) {
            m.push(id, Some(fr)).unwrap();
        }
        m.tick(None);
        for me in 0..3 {
            let out = m.output(me as u64 + 1).unwrap();
            for i in 0..FRAME_SAMPLES {
                let want: i32 = (0..3).filter(|&o| o != me).map(|o| i32::from(f[o][i])).sum();
                assert_eq!(i32::from(out[i]), want, "member {} sample {i}", me + 1);
            }
        }
        // The room (for a recording) is all three.
        assert_eq!(i32::from(m.room()[5]), f.iter().map(|fr| i32::from(fr[5])).sum::<i32>());
    }

    #[test]
    fn nobody_hears_themselves() {
        let mut m = room(4);
        // Four distinct, nearly orthogonal tones (different periods).
        let f = [tone(160, 6000, 0), tone(80, 6000, 0), tone(32, 6000, 0), tone(20, 6000, 0)];
        for (id, fr) in (1..=4).zip(f.iter()) {
            m.push(id, Some(fr)).unwrap();
        }
        m.tick(None);
        for me in 0..4 {
            let out = m.output(me as u64 + 1).unwrap();
            assert!(corr(out, &f[me]).abs() < 0.01, "member {me} hears itself: {}", corr(out, &f[me]));
            for other in (0..4).filter(|&o| o != me) {
                assert!(corr(out, &f[other]) > 0.5, "member {me} does not hear {other}");
            }
        }
    }

    #[test]
    fn own_voice_does_not_leak_through_the_clipper() {
        // Others already saturate; a member's own loud voice must still be
        // absent (subtraction before clipping), so member 1 hears exactly
        // the clipped sum of 2 and 3.
        for clip in [Clip::Hard, Clip::Soft] {
            let mut m = Mixer::new(clip);
            for id in 1..=3 {
                m.join(id, Role::Speaker).unwrap();
            }
            let loud = [30000i16; FRAME_SAMPLES];
            let mut mine = [0i16; FRAME_SAMPLES];
            mine[0] = -30000;
            mine[1] = 30000;
            m.push(1, Some(&mine)).unwrap();
            m.push(2, Some(&loud)).unwrap();
            m.push(3, Some(&loud)).unwrap();
            m.tick(None);
            assert_eq!(m.output(1).unwrap(), &[clip_sample(clip, 60000); FRAME_SAMPLES], "{clip:?}");
            // Member 2 hears 3 (30000) plus 1: −30000 + 30000 = 0 at sample 0.
            assert_eq!(m.output(2).unwrap()[0], 0);
            assert_eq!(m.output(2).unwrap()[1], clip_sample(clip, 60000));
            assert_eq!(m.output(2).unwrap()[2], clip_sample(clip, 30000));
        }
    }

    #[test]
    fn muted_member_is_not_heard_but_still_hears() {
        let mut m = room(3);
        let a = tone(40, 8000, 0);
        let b = tone(16, 5000, 3);
        let c = tone(25, 4000, 1);
        m.set_muted(1, true).unwrap();
        assert_eq!(m.is_muted(1), Some(true));
        m.push(1, Some(&a)).unwrap();
        m.push(2, Some(&b)).unwrap();
        m.push(3, Some(&c)).unwrap();
        m.tick(None);
        assert_eq!(m.output(2).unwrap(), &c);
        assert_eq!(m.output(3).unwrap(), &b);
        let both: Vec<i16> = b.iter().zip(c.iter()).map(|(&x, &y)| x + y).collect();
        assert_eq!(&m.output(1).unwrap()[..], &both[..]);
        m.set_muted(1, false).unwrap();
        m.push(1, Some(&a)).unwrap();
        m.tick(None);
        assert_eq!(m.output(2).unwrap(), &a, "unmuted: heard again (3 sent nothing this tick)");
    }

    #[test]
    fn listen_only_member_hears_but_is_not_heard() {
        let mut m = room(1);
        m.join(9, Role::ListenOnly).unwrap();
        let a = tone(40, 8000, 0);
        m.push(1, Some(&a)).unwrap();
        m.push(9, Some(&tone(16, 9000, 0))).unwrap();
        m.tick(None);
        assert_eq!(m.output(9).unwrap(), &a);
        assert_eq!(m.output(1).unwrap(), &[0; FRAME_SAMPLES]);
        m.set_role(9, Role::Speaker).unwrap();
        m.push(9, Some(&a)).unwrap();
        m.tick(None);
        assert_eq!(m.output(1).unwrap(), &a);
    }

    #[test]
    fn gain_scales_how_others_hear_a_member() {
        let mut m = room(2);
        let a = [10000i16; FRAME_SAMPLES];
        m.set_gain(1, 0.5).unwrap();
        m.push(1, Some(&a)).unwrap();
        m.push(2, Some(&a)).unwrap();
        m.tick(None);
        assert_eq!(m.output(2).unwrap()[0], 5000);
        assert_eq!(m.output(1).unwrap()[0], 10000, "gain is about being heard, not hearing");
        m.set_gain(1, 2.0).unwrap();
        m.push(1, Some(&a)).unwrap();
        m.tick(None);
        assert_eq!(m.output(2).unwrap()[0], 20000);
        m.set_gain(1, 0.0).unwrap();
        m.push(1, Some(&a)).unwrap();
        m.tick(None);
        assert_eq!(m.output(2).unwrap()[0], 0);
        for bad in [-0.1, 8.5, f32::NAN, f32::INFINITY] {
            assert!(matches!(m.set_gain(1, bad), Err(MixError::BadGain(_))));
        }
        assert_eq!(m.set_gain(7, 1.0), Err(MixError::UnknownMember(7)));
    }

    #[test]
    fn full_scale_inputs_saturate_without_wrapping() {
        for clip in [Clip::Hard, Clip::Soft] {
            let mut m = Mixer::new(clip);
            for id in 0..10 {
                m.join(id, Role::Speaker).unwrap();
                m.set_gain(id, MAX_GAIN).unwrap();
            }
            let mut pos = [i16::MAX; FRAME_SAMPLES];
            pos[1] = i16::MIN;
            for id in 0..10 {
                m.push(id, Some(&pos)).unwrap();
            }
            m.tick(Some(&[i16::MAX; FRAME_SAMPLES]));
            for (_, out) in m.outputs() {
                assert!(out[0] > 32000, "{clip:?}: positive stays positive, got {}", out[0]);
                assert!(out[1] < -32000, "{clip:?}: negative stays negative, got {}", out[1]);
            }
        }
        assert_eq!(clip_sample(Clip::Hard, 40000), 32767);
        assert_eq!(clip_sample(Clip::Hard, -40000), -32768);
        assert_eq!(clip_sample(Clip::Hard, 1234), 1234);
    }

    #[test]
    fn soft_clip_is_linear_below_the_knee_then_monotone_under_full_scale() {
        for x in [-SOFT_KNEE, -100, 0, 1, 100, SOFT_KNEE] {
            assert_eq!(i32::from(clip_sample(Clip::Soft, x)), x);
        }
        let mut prev = clip_sample(Clip::Soft, SOFT_KNEE);
        for x in (SOFT_KNEE + 1..=400_000).step_by(97) {
            let y = clip_sample(Clip::Soft, x);
            assert!(y >= prev && y < i16::MAX, "x {x} y {y}");
            assert_eq!(clip_sample(Clip::Soft, -x), -y, "odd symmetry");
            prev = y;
        }
        // Slope about 1 just past the knee: no kink.
        let y = i32::from(clip_sample(Clip::Soft, SOFT_KNEE + 10));
        assert!((SOFT_KNEE + 9..=SOFT_KNEE + 10).contains(&y), "{y}");
        assert_eq!(clip_sample(Clip::Soft, i32::MAX), 32766);
        assert_eq!(clip_sample(Clip::Soft, i32::MIN), -32766);
    }

    #[test]
    fn members_without_frames_add_nothing_but_hear() {
        let mut m = room(3);
        let a = tone(40, 8000, 0);
        m.push(1, Some(&a)).unwrap();
        m.push(2, None).unwrap();
        // 3 pushes nothing at all.
        m.tick(None);
        assert_eq!(m.output(2).unwrap(), &a);
        assert_eq!(m.output(3).unwrap(), &a);
        assert_eq!(m.output(1).unwrap(), &[0; FRAME_SAMPLES]);
        // Inputs are consumed by the tick: nothing pushed, silence.
        m.tick(None);
        assert_eq!(m.output(2).unwrap(), &[0; FRAME_SAMPLES]);
        // A None replaces an earlier push in the same tick.
        m.push(1, Some(&a)).unwrap();
        m.push(1, None).unwrap();
        m.tick(None);
        assert_eq!(m.output(2).unwrap(), &[0; FRAME_SAMPLES]);
    }

    #[test]
    fn join_and_leave_mid_stream() {
        let mut m = room(3);
        let f = [tone(40, 3000, 0), tone(16, 3000, 0), tone(25, 3000, 0), tone(10, 3000, 0)];
        let tick = |m: &mut Mixer, ids: &[u64]| {
            for &id in ids {
                m.push(id, Some(&f[id as usize - 1])).unwrap();
            }
            m.tick(None);
        };
        tick(&mut m, &[1, 2, 3]);
        m.leave(1).unwrap();
        assert!(!m.contains(1));
        assert_eq!(m.output(1), None);
        assert_eq!(m.push(1, Some(&f[0])), Err(MixError::UnknownMember(1)));
        assert_eq!(m.leave(1), Err(MixError::UnknownMember(1)));
        tick(&mut m, &[2, 3]);
        assert_eq!(m.output(2).unwrap(), &f[2], "after 1 left, 2 hears only 3");
        m.join(4, Role::Speaker).unwrap();
        assert_eq!(m.join(4, Role::Speaker), Err(MixError::AlreadyMember(4)));
        assert_eq!(m.output(4).unwrap(), &[0; FRAME_SAMPLES], "a new member hears silence until a tick");
        tick(&mut m, &[2, 3, 4]);
        let want: Vec<i16> = f[1].iter().zip(f[2].iter()).map(|(&x, &y)| x + y).collect();
        assert_eq!(&m.output(4).unwrap()[..], &want[..]);
        // The swap_remove in leave kept every index right.
        assert_eq!(m.len(), 3);
        let mut ids: Vec<u64> = m.outputs().map(|(id, _)| id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [2, 3, 4]);
        m.set_muted(3, true).unwrap();
        assert_eq!(m.is_muted(3), Some(true));
        assert_eq!(m.is_muted(2), Some(false));
    }

    #[test]
    fn room_limit_is_enforced() {
        let mut m = Mixer::with_max_members(Clip::Hard, 2);
        m.join(1, Role::Speaker).unwrap();
        m.join(2, Role::ListenOnly).unwrap();
        assert_eq!(m.join(3, Role::Speaker), Err(MixError::Full { max: 2 }));
        assert_eq!(Mixer::with_max_members(Clip::Hard, usize::MAX).max_members, DEFAULT_MAX_MEMBERS);
        assert!(Mixer::new(Clip::Soft).is_empty());
    }

    #[test]
    fn injection_is_heard_by_everyone() {
        let mut m = room(2);
        m.join(3, Role::ListenOnly).unwrap();
        m.join(4, Role::Speaker).unwrap();
        m.set_muted(4, true).unwrap();
        let beep = tone(20, 4000, 0);
        let a = tone(40, 3000, 0);
        m.push(1, Some(&a)).unwrap();
        m.tick(Some(&beep));
        assert_eq!(m.output(1).unwrap(), &beep, "the speaker hears the tone, not itself");
        let with_a: Vec<i16> = a.iter().zip(beep.iter()).map(|(&x, &y)| x + y).collect();
        for id in [2, 3, 4] {
            assert_eq!(&m.output(id).unwrap()[..], &with_a[..], "member {id}");
        }
        // An empty room tick with an injection does not fail.
        let mut empty = Mixer::new(Clip::Soft);
        empty.tick(Some(&beep));
        assert_eq!(empty.room(), &beep);
    }

    #[test]
    fn fifty_member_tick_reuses_its_buffers() {
        let mut m = room(50);
        let frames: Vec<Frame> = (0..50).map(|i| tone(10 + i, 600, i)).collect();
        let ptrs: Vec<*const i16> = (1..=50).map(|id| m.output(id).unwrap().as_ptr()).collect();
        let cap = m.members.capacity();
        let rounds = 1000u32;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            for (id, f) in (1..=50).zip(frames.iter()) {
                m.push(id, Some(f)).unwrap();
            }
            m.tick(None);
        }
        let per_tick = start.elapsed() / rounds;
        println!("50-member tick (push + mix): {per_tick:?}, {:?} per member", per_tick / 50);
        // No buffer moved or grew: the tick wrote into the outputs it had.
        let after: Vec<*const i16> = (1..=50).map(|id| m.output(id).unwrap().as_ptr()).collect();
        assert_eq!(ptrs, after);
        assert_eq!(m.members.capacity(), cap);
        // And the result is right: member 1 hears the other 49.
        let want: i32 = frames[1..].iter().map(|f| i32::from(f[7])).sum();
        assert_eq!(i32::from(m.output(1).unwrap()[7]), want);
    }

    #[test]
    fn errors_display() {
        assert_eq!(MixError::Full { max: 3 }.to_string(), "the mix is full (3 members)");
        assert_eq!(MixError::UnknownMember(5).to_string(), "no member 5 in the mix");
    }
}
