import VidPred
