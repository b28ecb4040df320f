"""Running notebook cells: in a fresh process (:mod:`.cells`), pre-forked from a warm runner
(:mod:`.zygote`), isolated when grading as root (:mod:`.sandbox`, :mod:`.users`); what happened
to each cell (:mod:`.outcomes`)."""
