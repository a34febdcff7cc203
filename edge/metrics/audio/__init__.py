"""Room audio: features from chunks (VAD, teacher speech, dBA), the audio source, window metrics."""
