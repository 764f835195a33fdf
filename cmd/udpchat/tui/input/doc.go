// Package input holds the line editor's logic that the chat UI adds to a
// plain text input: the history of sent lines and tab completion. It knows
// nothing of the terminal, so that it can be tested as plain functions.
package input
