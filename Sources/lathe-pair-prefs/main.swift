import LatheCLI

PendingStage.main("lathe-pair-prefs")
