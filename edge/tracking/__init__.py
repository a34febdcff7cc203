"""People across frames: the person record, the tracker (ephemeral ids), teacher/student roles."""
