"""The audio path on real synthetic speech: espeak-ng sentences, silences and classroom-like noise.

Ground truth is known by construction: each sentence's span (its espeak output, leading and
trailing silence trimmed) is speech, the inserted gaps are not. Audio flows file -> chunks ->
Silero VAD + A-weighted level -> AudioFeatures -> the classroom AudioEngine's window metrics.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from edge.metrics.audio.features import AWeightedLevel, power_to_dbfs
from edge.metrics.audio.source import WavFeatureSource
from edge.metrics.audio.metrics import AudioEngine
from edge.config import load_config
from edge.config.sources import AudioConfig
from sensors.audio import CHUNK, RATE, WavAudioSource
from sensors.errors import SourceError

SENTENCES = [
    "Good morning everyone, please open your books",
    "Today we are going to learn about the water cycle",
    "Who can tell me where rain comes from",
    "Evaporation turns water from the sea into vapour",
    "Write the three stages in your notebook now",
]
GAPS_S = [1.5, 3.0, 2.0, 4.0, 2.5, 3.5]  # silence before each sentence, and after the last


def espeak(text: str, folder: Path, index: int) -> np.ndarray:
    """One sentence at 16 kHz, float32, leading/trailing silence trimmed (so its length is speech)."""
    raw, out = folder / f"say{index}.wav", folder / f"say{index}_16k.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(RATE), str(out)], check=True)
    _, samples = wavfile.read(out)
    x = samples.astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(x) > 0.02 * np.abs(x).max())
    return x[loud[0] : loud[-1] + 1]


def sox_noise(folder: Path, seconds: float, kind: str, volume: float) -> np.ndarray:
    path = folder / f"{kind}.wav"
    subprocess.run(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path), "synth",
                    str(seconds), kind, "vol", str(volume)], check=True)
    return wavfile.read(path)[1].astype(np.float32) / 32768.0


def classroom_noise(folder: Path, seconds: float, volume: float) -> np.ndarray:
    """Ventilation rumble (brown), room hiss (pink) and desk/pencil taps (short decaying clicks)."""
    noise = sox_noise(folder, seconds, "brownnoise", volume) + sox_noise(folder, seconds, "pinknoise", volume / 2)
    rng = np.random.default_rng(7)
    tap = np.exp(-np.arange(400) / 60.0) * rng.standard_normal(400) * volume * 4
    for start in rng.integers(0, len(noise) - 400, size=int(seconds * 1.5)):
        noise[start : start + 400] += tap
    return noise


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    pcm = np.clip(samples, -1, 1 - 1 / 32768) * 32768
    wavfile.write(path, rate, pcm.astype(np.int16))
    return path


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    """Room mix (speech + noise), the teacher-only track, and the true speech shares."""
    folder = tmp_path_factory.mktemp("speech")
    clips = [espeak(text, folder, i) for i, text in enumerate(SENTENCES)]
    parts, teacher_parts, speech_s, teacher_s = [], [], 0.0, 0.0
    for i, clip in enumerate(clips):
        parts += [np.zeros(int(GAPS_S[i] * RATE), np.float32), clip]
        # Sentences 0, 1 and 3 are the teacher's (on the lapel mic), 2 and 4 students'.
        is_teacher = i in (0, 1, 3)
        teacher_parts += [np.zeros(int(GAPS_S[i] * RATE), np.float32),
                          clip if is_teacher else np.zeros_like(clip)]
        speech_s += len(clip) / RATE
        teacher_s += is_teacher * len(clip) / RATE
    tail = np.zeros(int(GAPS_S[-1] * RATE), np.float32)
    room = np.concatenate(parts + [tail])
    teacher = np.concatenate(teacher_parts + [tail])
    room = room * 0.6 + classroom_noise(folder, len(room) / RATE + 0.1, 0.02)[: len(room)]
    total = len(room) / RATE
    return {"folder": folder, "room": room, "teacher": teacher,
            "speech": speech_s / total, "teacher_share": teacher_s / total}


def audio_metrics(path: Path, cfg: AudioConfig) -> dict:
    config = load_config()
    engine = AudioEngine(config.classroom)
    for features in WavFeatureSource(path, cfg):
        engine.on_audio(features)
    result = engine.close_window(0.0, 1e9)
    assert result is not None
    return result.metrics["audio"]


def test_speech_ratio_matches_the_truth(lesson):
    path = write_wav(lesson["folder"] / "room.wav", lesson["room"])
    audio = audio_metrics(path, AudioConfig())
    assert 0.25 < lesson["speech"] < 0.75  # the mix really has both speech and gaps
    assert abs(audio["speech_ratio"] - lesson["speech"]) <= 0.1
    assert audio["teacher_talk_ratio"] is None  # no teacher channel: no guess


def test_teacher_channel_of_a_48k_stereo_file(lesson):
    # A 48 kHz stereo recording: channel 0 the room, channel 1 the lapel mic; resampled on read.
    from scipy.signal import resample_poly

    stereo = np.stack([lesson["room"], lesson["teacher"] * 0.6], axis=1)
    path = write_wav(lesson["folder"] / "stereo48k.wav", resample_poly(stereo, 3, 1, axis=0), 48000)
    audio = audio_metrics(path, AudioConfig(teacher_channel=1))
    assert abs(audio["speech_ratio"] - lesson["speech"]) <= 0.1
    assert abs(audio["teacher_talk_ratio"] - lesson["teacher_share"]) <= 0.1
    assert audio["teacher_talk_ratio"] < audio["speech_ratio"] - 0.05


@pytest.mark.parametrize("volume", [0.02, 0.2])
def test_classroom_noise_alone_is_not_speech(lesson, volume):
    noise = classroom_noise(lesson["folder"], 20.0, volume)
    path = write_wav(lesson["folder"] / f"noise{volume}.wav", noise)
    assert audio_metrics(path, AudioConfig())["speech_ratio"] < 0.1


def test_silence_is_silence(lesson):
    dither = np.random.default_rng(3).standard_normal(RATE * 10).astype(np.float32) * 3e-5
    path = write_wav(lesson["folder"] / "silence.wav", dither)
    audio = audio_metrics(path, AudioConfig())
    assert audio["speech_ratio"] < 0.1
    assert audio["silence_ratio"] > 0.9  # quiet non-speech, with the default calibration


def tone(freq: float, amplitude: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_a_weighting_of_calibrated_tones(tmp_path):
    # Calibration: a 1 kHz tone at -20 dBFS is 74 dBA on the meter, so dba_offset = 94.
    cfg = AudioConfig(dba_offset=94.0)
    levels = {}
    for freq in (100.0, 1000.0, 4000.0):
        path = write_wav(tmp_path / f"tone{int(freq)}.wav", tone(freq, 0.1))
        features = list(WavFeatureSource(path, cfg))[2:-1]  # skip the filter's start-up
        levels[freq] = float(np.mean([f.dba for f in features]))
    assert levels[1000.0] == pytest.approx(74.0, abs=0.2)
    assert levels[100.0] - levels[1000.0] == pytest.approx(-19.1, abs=0.5)
    assert levels[4000.0] - levels[1000.0] == pytest.approx(1.0, abs=1.0)
    meter = AWeightedLevel()
    assert power_to_dbfs(meter.power(tone(1000.0, 1.0, 1.0))) == pytest.approx(0.0, abs=0.2)


def test_resampled_chunks_match_the_signal_across_block_joins(tmp_path):
    # 25 s at 44.1 kHz (resampled in 10 s blocks) of two tones: every 16 kHz sample must match the
    # analytic signal, including at block joins, and the odd tail must be kept (zero-padded).
    def signal(t: np.ndarray) -> np.ndarray:
        return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32)

    frames = 44100 * 25 + 17
    path = tmp_path / "two_tones.wav"
    wavfile.write(path, 44100, signal(np.arange(frames) / 44100))  # float WAV, odd length
    chunks = list(WavAudioSource(path))
    assert all(c.room.shape == (CHUNK,) and c.room.dtype == np.float32 for c in chunks)
    assert chunks[1].t == pytest.approx(CHUNK / RATE)
    expected = int(np.ceil(frames * RATE / 44100))
    assert len(chunks) == int(np.ceil(expected / CHUNK))
    joined = np.concatenate([c.room for c in chunks])
    truth = signal(np.arange(expected) / RATE)
    assert np.max(np.abs(joined[200 : expected - 200] - truth[200:-200])) < 0.01
    assert not joined[expected:].any()


def test_bad_audio_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(SourceError, match="no such audio file"):
        WavAudioSource(tmp_path / "missing.wav")
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(SourceError, match="not a readable WAV"):
        WavAudioSource(tmp_path / "text.wav")
    mono = write_wav(tmp_path / "mono.wav", tone(440.0, 0.1, 0.5))
    with pytest.raises(SourceError, match="teacher channel 1 not available"):
        WavAudioSource(mono, teacher_channel=1)


def test_live_microphone_without_portaudio_is_a_clear_error():
    from sensors.microphone import Microphone

    try:
        import sounddevice  # noqa: F401 - present only where PortAudio is installed
    except OSError:
        with pytest.raises(SourceError, match="PortAudio"):
            Microphone().__enter__()
        return
    # PortAudio present (a developer machine): a device that cannot exist must fail clearly.
    with pytest.raises(SourceError, match="cannot open audio device"):
        Microphone(device="no-such-device-h7").__enter__()


AUDIO_SUFFIXES = {".wav", ".raw", ".pcm", ".flac", ".mp3", ".ogg", ".npy", ".npz"}


def _float_arrays(value, path=""):
    """JSON paths of numeric lists longer than a handful (a leaked sample buffer would be one)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _float_arrays(item, f"{path}.{key}")
    elif isinstance(value, list):
        if len(value) > 16 and all(isinstance(v, (int, float)) for v in value):
            yield path
        for i, item in enumerate(value):
            yield from _float_arrays(item, f"{path}[{i}]")


def test_an_audio_run_writes_no_audio(lesson, tmp_path, monkeypatch):
    """WAV -> features -> lesson session -> store: afterwards only aggregates exist on disk."""
    import json
    import sqlite3
    import tempfile

    from edge.privacy.audit import audit_database
    from edge.lesson.session import LessonSession
    from edge.store import Store

    source_wav = write_wav(lesson["folder"] / "privacy.wav", lesson["room"])
    state = tmp_path / "state"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    config = load_config()
    session = LessonSession(config, "classroom")
    with Store(state / "edge.db") as store:
        for features in WavFeatureSource(source_wav, config.audio):
            for record in session.feed(features):
                store.write_record(record)
        records = session.finish()
        for record in records:
            store.write_record(record)
    assert any(r["type"] == "lesson" and r["metrics"].get("audio") for r in records)

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written, "the store should exist"
    assert not [p for p in written if p.suffix.lower() in AUDIO_SUFFIXES]
    assert not list(scratch.iterdir())
    audio_bytes = lesson["room"].nbytes
    assert all(p.stat().st_size < audio_bytes / 4 for p in written)  # nothing near audio-sized
    assert audit_database(state / "edge.db").ok
    conn = sqlite3.connect(state / "edge.db")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    assert not isinstance(value, bytes), f"blob in {table}"
                    if isinstance(value, str) and value.startswith("{"):
                        assert not list(_float_arrays(json.loads(value))), f"array in {table}"
    finally:
        conn.close()


def test_calibrate_audio_on_a_file(lesson, capsys):
    from edge.cli.main import main

    path = write_wav(lesson["folder"] / "calib.wav", lesson["room"])
    assert main(["calibrate", "audio", "--file", str(path), "--reference-dba", "65", "--json"]) == 0
    import json

    check = json.loads(capsys.readouterr().out)
    assert abs(check["speech_share"] - lesson["speech"]) < 0.15
    assert check["clipped_share"] == 0.0
    assert check["suggested_dba_offset"] == pytest.approx(65 - check["level_dbfs_a"], abs=0.1)
    clipped = write_wav(lesson["folder"] / "clipped.wav", lesson["room"] * 8)
    assert main(["calibrate", "audio", "--file", str(clipped)]) == 0
    assert "clipped: lower the input gain" in capsys.readouterr().out
    assert main(["calibrate", "audio", "--file", str(lesson["folder"] / "none.wav")]) == 2
    assert "no such audio file" in capsys.readouterr().err
