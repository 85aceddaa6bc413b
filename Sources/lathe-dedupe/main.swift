import LatheCLI

PendingStage.main("lathe-dedupe")
