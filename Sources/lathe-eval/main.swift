import LatheCLI

PendingStage.main("lathe-eval")
