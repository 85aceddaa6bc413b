import LatheCLI

PendingStage.main("lathe-train")
