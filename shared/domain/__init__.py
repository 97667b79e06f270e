"""Domain rules more than one service needs: ID numbers, administrative divisions."""
